package main

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"regexp"
	"testing"
	"time"

	"layeh.com/radius"
)

const radiusSecret = "radius-test-secret"

// radiusConfig adds a RADIUS listener, a client and a policy to goodConfig.
var radiusConfig = map[string]string{
	"authd.hcl": goodConfig,
	"radius.hcl": `radius_client "local" {
  address = "127.0.0.1/32"
  secret  = env("AUTHD_TEST_RADIUS_SECRET")
}

radius_policy "vpn" {
  clients = [radius_client.local]
  realm   = realm.corp
  journey = journey.login
}
`,
}

var radiusListenRE = regexp.MustCompile(`msg="radius listening" addr=(\S+)`)

// TestRunRADIUS checks that authd run wires the RADIUS front end: a PAP
// Access-Request for a user added through the CLI is accepted.
func TestRunRADIUS(t *testing.T) {
	files := map[string]string{}
	for k, v := range radiusConfig {
		files[k] = v
	}
	files["authd.hcl"] = goodConfig[:len("server {")] + "\n  radius {\n    listen = \"127.0.0.1:0\"\n  }" + goodConfig[len("server {"):]
	e := env{dir: configDir(t, files), vars: []string{"AUTHD_TEST_RADIUS_SECRET=" + radiusSecret}}
	e.stdin = "alice-pass\n"
	e.run(t, "user", "add", "-realm", "corp", "-password-stdin", "alice").want(t, 0, nil, nil)
	e.stdin = ""

	s := e.startServer(t)
	m := radiusListenRE.FindStringSubmatch(s.output())
	if m == nil {
		t.Fatalf("no radius listening line:\n%s", s.output())
	}
	addr := m[1]
	for _, tt := range []struct {
		password string
		want     radius.Code
	}{
		{"alice-pass", radius.CodeAccessAccept},
		{"wrong", radius.CodeAccessReject},
	} {
		p := radius.New(radius.CodeAccessRequest, []byte(radiusSecret))
		p.Add(1, radius.Attribute("alice")) // User-Name
		pw, _ := radius.NewUserPassword([]byte(tt.password), p.Secret, p.Authenticator[:])
		p.Add(2, pw) // User-Password
		// Message-Authenticator (80), required by default (BlastRADIUS).
		p.Add(80, make(radius.Attribute, 16))
		b, err := p.Encode()
		if err != nil {
			t.Fatal(err)
		}
		mac := hmac.New(md5.New, p.Secret)
		mac.Write(b)
		p.Attributes[len(p.Attributes)-1].Attribute = mac.Sum(nil)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		r, err := (&radius.Client{Retry: time.Second}).Exchange(ctx, p, addr)
		cancel()
		if err != nil {
			t.Fatalf("exchange: %v\n%s", err, s.output())
		}
		if r.Code != tt.want {
			t.Fatalf("password %q: got %v, want %v", tt.password, r.Code, tt.want)
		}
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, s.output())
	}
}
