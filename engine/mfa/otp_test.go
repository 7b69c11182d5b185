package mfa

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"
)

// uriFor builds the otpauth URI of a known secret, as an app would hold it.
func uriFor(t *testing.T, p Params, secret []byte) string {
	t.Helper()
	p, err := p.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	uri, err := buildURI(p, secret, "Test", "alice")
	if err != nil {
		t.Fatal(err)
	}
	return uri
}

// TestRFC6238Vectors checks the TOTP test vectors of RFC 6238 appendix B
// (8 digits, 30 s steps, the RFC's seeds for SHA1, SHA256 and SHA512).
func TestRFC6238Vectors(t *testing.T) {
	seeds := map[string][]byte{
		"SHA1":   []byte("12345678901234567890"),
		"SHA256": []byte("12345678901234567890123456789012"),
		"SHA512": []byte("1234567890123456789012345678901234567890123456789012345678901234"),
	}
	vectors := []struct {
		unix               int64
		sha1, sha256, s512 string
	}{
		{59, "94287082", "46119246", "90693936"},
		{1111111109, "07081804", "68084774", "25091201"},
		{1111111111, "14050471", "67062674", "99943326"},
		{1234567890, "89005924", "91819424", "93441116"},
		{2000000000, "69279037", "90698825", "38618901"},
		{20000000000, "65353130", "77737706", "47863826"},
	}
	for _, v := range vectors {
		for alg, want := range map[string]string{"SHA1": v.sha1, "SHA256": v.sha256, "SHA512": v.s512} {
			k, err := ParseURI(uriFor(t, Params{Algorithm: alg, Digits: 8}, seeds[alg]))
			if err != nil {
				t.Fatal(err)
			}
			got, err := k.Code(time.Unix(v.unix, 0))
			if err != nil || got != want {
				t.Errorf("%s at %d: %q %v, want %s", alg, v.unix, got, err, want)
			}
		}
	}
}

// TestRFC4226Vectors checks the HOTP test values of RFC 4226 appendix D.
func TestRFC4226Vectors(t *testing.T) {
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	uri := uriFor(t, Params{Type: TypeHOTP}, []byte("12345678901234567890"))
	if !strings.HasPrefix(uri, "otpauth://hotp/") || !strings.Contains(uri, "counter=0") {
		t.Fatalf("HOTP URI %q", uri)
	}
	k, err := ParseURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	for c, w := range want {
		if got, err := k.CodeAt(uint64(c)); err != nil || got != w {
			t.Errorf("counter %d: %q %v, want %s", c, got, err, w)
		}
	}
	// Code of an HOTP key is the code of its counter.
	k.Counter = 3
	if got, _ := k.Code(time.Now()); got != want[3] {
		t.Errorf("Code at counter 3 = %s", got)
	}
}

func TestBuildURI(t *testing.T) {
	uri := uriFor(t, Params{Algorithm: "sha256", Digits: 8, Period: 60 * time.Second}, []byte("12345678901234567890123456789012"))
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Test:alice" || q.Get("issuer") != "Test" ||
		q.Get("algorithm") != "SHA256" || q.Get("digits") != "8" || q.Get("period") != "60" || q.Get("secret") == "" {
		t.Errorf("URI %q", uri)
	}
	// A colon in the issuer would split the label: it is replaced.
	p, _ := Params{}.withDefaults()
	uri, _ = buildURI(p, []byte("x"), "Corp: VPN", "bob")
	k, err := ParseURI(uri)
	if err != nil || k.Issuer != "Corp  VPN" || k.Account != "bob" {
		t.Errorf("issuer with colon: %q -> %+v %v", uri, k, err)
	}
}

func TestParseURIErrors(t *testing.T) {
	for _, bad := range []string{
		"", "https://example.com", "otpauth://totp/x", "otpauth://totp/x?secret=1!!",
		"otpauth://totp/x?secret=GEZDGNBV&algorithm=MD5", "otpauth://totp/x?secret=GEZDGNBV&digits=9",
		"otpauth://totp/x?secret=GEZDGNBV&period=0", "otpauth://hotp/x?secret=GEZDGNBV&counter=-1",
		"otpauth://motp/x?secret=GEZDGNBV", "\x00",
	} {
		if _, err := ParseURI(bad); err == nil {
			t.Errorf("ParseURI(%q): no error", bad)
		} else if strings.Contains(err.Error(), "GEZDGNBV") {
			t.Errorf("error quotes the secret: %v", err)
		}
	}
	// Lower-case and padded secrets, as some generators write them, work.
	k, err := ParseURI("otpauth://totp/x?secret=gezdgnbvgy3tqojqgezdgnbvgy3tqojq====")
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := k.Code(time.Unix(59, 0)); c != "287082" {
		t.Errorf("code %s", c)
	}
	if r := k.Remaining(time.Unix(59, 0)); r != time.Second {
		t.Errorf("remaining %s", r)
	}
	if c, err := CodeFromURI("otpauth://totp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=7", time.Unix(59, 0)); err != nil || len(c) != 7 {
		t.Errorf("7 digits: %q %v", c, err)
	}
}

func TestParamsDefaults(t *testing.T) {
	p, err := Params{}.withDefaults()
	if err != nil || p != (Params{Type: TypeTOTP, Algorithm: "SHA1", Digits: 6, Period: 30 * time.Second}) {
		t.Errorf("defaults %+v %v", p, err)
	}
	for _, bad := range []Params{{Type: "motp"}, {Algorithm: "MD5"}, {Digits: 7}, {Period: 1500 * time.Millisecond}, {Period: 2 * time.Hour}} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if p, _ := (Params{Type: "HOTP", Period: time.Minute}).withDefaults(); p.Period != 0 || p.Type != TypeHOTP {
		t.Errorf("hotp %+v", p)
	}
}

func TestIsCode(t *testing.T) {
	for s, want := range map[string]bool{"123456": true, "123 456": true, "123-456": true, "": false, "push": false, "12a": false, " ": false} {
		if IsCode(s) != want {
			t.Errorf("IsCode(%q) = %v", s, !want)
		}
	}
}

func TestNewNumericCode(t *testing.T) {
	seen := map[byte]int{}
	for i := 0; i < 200; i++ {
		c, err := NewNumericCode(6)
		if err != nil || len(c) != 6 || !IsCode(c) {
			t.Fatalf("%q %v", c, err)
		}
		for j := range c {
			seen[c[j]]++
		}
	}
	if len(seen) != 10 {
		t.Errorf("digits seen: %v", seen)
	}
	if _, err := NewNumericCode(3); err == nil {
		t.Error("3 digits accepted")
	}
}

func TestQRCodePNG(t *testing.T) {
	png, err := QRCodePNG("otpauth://totp/x?secret=GEZDGNBV", 256)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("QR: %d bytes, %v", len(png), err)
	}
	if _, err := QRCodePNG("x", 10); err == nil {
		t.Error("tiny QR accepted")
	}
}
