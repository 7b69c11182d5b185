package mfa

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseURI: no URI makes ParseURI or the code computation panic, and
// no error quotes the secret.
func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"otpauth://totp/Example:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example&period=30&digits=6&algorithm=SHA1",
		"otpauth://hotp/x?secret=GEZDGNBV&counter=18446744073709551615&digits=8",
		"otpauth://totp/x?secret=====&period=3600", "otpauth://%zz", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		k, err := ParseURI(uri)
		if err != nil {
			if s := secretParam(uri); len(s) >= 8 && strings.Contains(err.Error(), s) {
				t.Fatalf("error quotes the secret: %v", err)
			}
			return
		}
		c, err := k.Code(time.Unix(1111111109, 0))
		if err == nil && len(c) != k.Digits {
			t.Fatalf("code %q for %d digits", c, k.Digits)
		}
		_ = k.Remaining(time.Unix(59, 0))
	})
}

func secretParam(uri string) string {
	i := strings.Index(uri, "secret=")
	if i < 0 {
		return ""
	}
	s, _, _ := strings.Cut(uri[i+7:], "&")
	return s
}

// FuzzNormalize: code and recovery-code input never panics, and what is
// accepted is canonical.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"123 456", "abcd-efgh-jkmn-pqrs", "ILO0-1111-2222-3333", "\xff", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if c, ok := normalizeCode(s); ok && strings.Trim(c, "0123456789") != "" {
			t.Fatalf("code %q from %q", c, s)
		}
		if c, ok := normalizeRecovery(s); ok {
			if len(c) != recoveryLen || strings.Trim(c, recoveryAlphabet) != "" {
				t.Fatalf("recovery code %q from %q", c, s)
			}
		}
	})
}
