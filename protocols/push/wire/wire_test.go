package wire_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/protocols/push/wire"
)

func TestSignVerify(t *testing.T) {
	k, _ := wire.NewKey()
	other, _ := wire.NewKey()
	now := time.Now()
	c := wire.NewClaims(wire.UseRespond, "dev1", "https://auth.example.com", now)
	c.MessageID, c.Challenge, c.Decision, c.Number = "m", "chl", wire.Approve, 42
	tok, err := wire.Sign(k, "dev1", c)
	if err != nil {
		t.Fatal(err)
	}
	p, err := wire.Parse(tok)
	if err != nil || p.Kid != "dev1" || p.Claims.Number != 42 || p.Claims.Decision != "approve" {
		t.Fatalf("parse: %+v %v", p, err)
	}
	if err := p.Verify(&k.PublicKey); err != nil {
		t.Errorf("verify: %v", err)
	}
	if err := p.Verify(&other.PublicKey); err == nil {
		t.Error("verified with another key")
	}
	if err := p.Claims.CheckTime(now); err != nil {
		t.Errorf("fresh token: %v", err)
	}
	if err := p.Claims.CheckTime(now.Add(2 * time.Minute)); err == nil {
		t.Error("expired token accepted")
	}
	if err := p.Claims.CheckTime(now.Add(-2 * time.Minute)); err == nil {
		t.Error("token from the future accepted")
	}
	long := *c
	long.Expires = now.Add(time.Hour).Unix()
	if err := long.CheckTime(now); err == nil {
		t.Error("hour-long token accepted")
	}
}

func TestParseRejects(t *testing.T) {
	k, _ := wire.NewKey()
	tok, _ := wire.Sign(k, "d", wire.NewClaims(wire.UsePending, "d", "https://x", time.Now()))
	parts := strings.Split(tok, ".")
	b64 := base64.RawURLEncoding.EncodeToString
	for name, bad := range map[string]string{
		"empty":      "",
		"two parts":  parts[0] + "." + parts[1],
		"alg none":   b64([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".",
		"alg HS256":  b64([]byte(`{"alg":"HS256"}`)) + "." + parts[1] + "." + parts[2],
		"short sig":  parts[0] + "." + parts[1] + "." + b64([]byte("short")),
		"bad base64": parts[0] + ".!!!." + parts[2],
		"huge":       strings.Repeat("a", wire.MaxTokenBytes+1),
	} {
		if _, err := wire.Parse(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestEnrollURI(t *testing.T) {
	e := &wire.EnrollURI{URL: "https://auth.example.com", Realm: "corp", User: "alice", Issuer: "Example Corp", ID: "abc", Secret: []byte("0123456789abcdef0123456789abcdef")}
	s := e.String()
	if !strings.HasPrefix(s, "authd://enroll?") {
		t.Fatal(s)
	}
	got, err := wire.ParseEnrollURI(s)
	if err != nil || got.URL != e.URL || got.User != "alice" || got.Issuer != "Example Corp" || string(got.Secret) != string(e.Secret) {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range []string{"https://x", "authd://enroll?url=ftp://x&realm=r&id=i&secret=AAAAAAAAAAAAAAAAAAAAAA", "authd://enroll?url=https://x&id=i&secret=AAAAAAAAAAAAAAAAAAAAAA", "authd://enroll?url=https://x&realm=r&id=i&secret=short", "authd://enroll?v=2&url=https://x&realm=r&id=i&secret=AAAAAAAAAAAAAAAAAAAAAA"} {
		if _, err := wire.ParseEnrollURI(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if !wire.CheckEnrollProof(e.Secret, "abc", "key", wire.EnrollProof(e.Secret, "abc", "key")) || wire.CheckEnrollProof(e.Secret, "abc", "key2", wire.EnrollProof(e.Secret, "abc", "key")) {
		t.Error("enrol proof")
	}
}

func FuzzParse(f *testing.F) {
	k, _ := wire.NewKey()
	tok, _ := wire.Sign(k, "d", wire.NewClaims(wire.UseRespond, "d", "https://x", time.Now()))
	f.Add(tok)
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := wire.Parse(s)
		if err == nil {
			_ = p.Verify(&k.PublicKey)
			_ = p.Claims.CheckTime(time.Now())
		}
		_, _ = wire.ParseEnrollURI(s)
	})
}
