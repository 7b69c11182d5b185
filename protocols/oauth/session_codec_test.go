package oauth_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/authd/authd/protocols/oauth"
)

// TestSessionStoredForms: the stored session round-trips in its binary
// form (common sessions) and its JSON form (with ID token claims); JSON
// written before the binary form still decodes; a damaged record is an
// error, never a panic.
func TestSessionStoredForms(t *testing.T) {
	at := time.Date(2026, 12, 4, 15, 0, 0, 123456789, time.UTC)
	withUser := func() *oauth.Session {
		s := oauth.NewSession()
		s.SetSubject("alice")
		s.Realm, s.User, s.Journey, s.AuthTime = "corp", "alice", "mfa", at
		s.SetExpiresAt(fosite.AccessToken, at.Add(time.Hour))
		s.SetExpiresAt(fosite.RefreshToken, at.Add(100*365*24*time.Hour))
		return s
	}
	for _, tc := range []struct {
		name   string
		s      func() *oauth.Session
		binary bool
	}{
		{"client-credentials", func() *oauth.Session {
			s := oauth.NewSession()
			s.SetSubject("service")
			s.SetExpiresAt(fosite.AccessToken, at)
			return s
		}, true},
		{"user-token", withUser, true},
		{"empty", oauth.NewSession, true},
		{"id-token-claims", func() *oauth.Session {
			s := withUser()
			s.IDTokenClaims().Nonce = "n-0123"
			s.IDTokenClaims().AuthenticationContextClassReference = "mfa"
			return s
		}, false},
		{"extra-headers", func() *oauth.Session {
			s := withUser()
			s.IDTokenHeaders().Extra = map[string]any{"kid": "k1"}
			return s
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.s()
			b, err := in.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if isBinary := b[0] != '{'; isBinary != tc.binary {
				t.Fatalf("binary form %v, want %v: %q", isBinary, tc.binary, b)
			}
			out := &oauth.Session{}
			if err := out.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			sameSession(t, in, out)
			// The same session written as JSON (records from before the
			// binary form) decodes to the same.
			j, err := in.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			old := &oauth.Session{}
			if err := old.UnmarshalBinary(j); err != nil {
				t.Fatal(err)
			}
			sameSession(t, in, old)
			// Every truncation is an error, not a panic.
			if tc.binary {
				for i := range len(b) - 1 {
					if err := (&oauth.Session{}).UnmarshalBinary(b[:i]); err == nil {
						t.Fatalf("truncated to %d bytes: no error", i)
					}
				}
				if err := (&oauth.Session{}).UnmarshalBinary(append(b[:len(b):len(b)], 0)); err == nil {
					t.Fatal("trailing byte: no error")
				}
			}
		})
	}
}

// TestSessionDecodeKeepsExpiries: decoding a stored session into one that
// already holds expiries (fosite does so in a code exchange, after setting
// the new tokens' expiries) keeps those the stored form does not name and
// takes the stored ones where it does, in both forms.
func TestSessionDecodeKeepsExpiries(t *testing.T) {
	at := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	code := oauth.NewSession()
	code.SetSubject("alice")
	code.SetExpiresAt(fosite.AuthorizeCode, at.Add(10*time.Minute))
	withClaims := code.Clone().(*oauth.Session)
	withClaims.IDTokenClaims().Nonce = "n-0123"
	for _, tc := range []struct {
		name   string
		stored *oauth.Session
		encode func(*oauth.Session) ([]byte, error)
	}{
		{"binary", code, (*oauth.Session).MarshalBinary},
		{"json", code, (*oauth.Session).MarshalJSON},
		{"json-with-claims", withClaims, (*oauth.Session).MarshalBinary},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.encode(tc.stored)
			if err != nil {
				t.Fatal(err)
			}
			live := oauth.NewSession()
			live.SetExpiresAt(fosite.AuthorizeCode, at) // stale: the stored one wins
			live.SetExpiresAt(fosite.AccessToken, at.Add(time.Hour))
			live.SetExpiresAt(fosite.RefreshToken, at.Add(24*time.Hour))
			if err := live.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			for k, want := range map[fosite.TokenType]time.Time{
				fosite.AuthorizeCode: at.Add(10 * time.Minute),
				fosite.AccessToken:   at.Add(time.Hour),
				fosite.RefreshToken:  at.Add(24 * time.Hour),
			} {
				if got := live.GetExpiresAt(k); !got.Equal(want) {
					t.Errorf("%s expiry %v, want %v", k, got, want)
				}
			}
			mustEqual(t, "subject", live.GetSubject(), "alice")
		})
	}
}

func sameSession(t *testing.T, want, got *oauth.Session) {
	t.Helper()
	if got.GetSubject() != want.GetSubject() || got.GetUsername() != want.GetUsername() ||
		got.Realm != want.Realm || got.User != want.User || got.Journey != want.Journey || !got.AuthTime.Equal(want.AuthTime) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for _, k := range []fosite.TokenType{fosite.AccessToken, fosite.RefreshToken, fosite.AuthorizeCode} {
		if !got.GetExpiresAt(k).Equal(want.GetExpiresAt(k)) {
			t.Errorf("%s expiry %v, want %v", k, got.GetExpiresAt(k), want.GetExpiresAt(k))
		}
	}
	wc, gc := *want.IDTokenClaims(), *got.IDTokenClaims()
	if wc.Nonce != gc.Nonce || wc.AuthenticationContextClassReference != gc.AuthenticationContextClassReference || gc.Subject != want.GetSubject() {
		t.Errorf("claims %+v, want %+v", gc, wc)
	}
	if !reflect.DeepEqual(len(want.IDTokenHeaders().Extra), len(got.IDTokenHeaders().Extra)) {
		t.Errorf("headers %v, want %v", got.IDTokenHeaders().Extra, want.IDTokenHeaders().Extra)
	}
}

// FuzzSessionUnmarshalBinary: no stored bytes make the session decoder
// panic, and what it accepts in the binary form re-encodes to a session
// that decodes the same.
func FuzzSessionUnmarshalBinary(f *testing.F) {
	s := oauth.NewSession()
	s.SetSubject("alice")
	s.Realm, s.Journey = "corp", "mfa"
	s.SetExpiresAt(fosite.AccessToken, time.Unix(1764864000, 5).UTC())
	b, _ := s.MarshalBinary()
	f.Add(b)
	j, _ := s.MarshalJSON()
	f.Add(j)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, data []byte) {
		got := &oauth.Session{}
		if err := got.UnmarshalBinary(data); err != nil || len(data) == 0 || data[0] != 1 {
			return
		}
		again, err := got.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		back := &oauth.Session{}
		if err := back.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded session does not decode: %v", err)
		}
		sameSession(t, got, back)
	})
}
