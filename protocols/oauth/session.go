package oauth

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"maps"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
)

// Session is what a grant remembers about the login behind it. It is stored
// with every code and token (as JSON), so it holds names, never secrets.
type Session struct {
	*openid.DefaultSession `json:"oidc"`
	// Realm and User name the resource owner; empty for client credentials.
	Realm string `json:"realm,omitempty"`
	User  string `json:"user,omitempty"`
	// Journey is the journey that authenticated the user, published as acr.
	Journey string `json:"journey,omitempty"`
	// AuthTime is when the user last ran a journey (OIDC auth_time).
	AuthTime time.Time `json:"auth_time,omitzero"`
}

var _ openid.Session = (*Session)(nil)

// NewSession returns an empty session; fosite decodes stored ones into it.
func NewSession() *Session {
	return &Session{DefaultSession: &openid.DefaultSession{
		Claims:  &jwt.IDTokenClaims{},
		Headers: &jwt.Headers{},
	}}
}

// Clone copies the session deeply. fosite clones on every refresh and
// introspection, so this is written out rather than done by reflection.
func (s *Session) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	c := *s
	if s.DefaultSession != nil {
		d := *s.DefaultSession
		d.ExpiresAt = maps.Clone(s.DefaultSession.ExpiresAt)
		if s.DefaultSession.Claims != nil {
			cl := *s.DefaultSession.Claims
			cl.Audience = append([]string(nil), cl.Audience...)
			cl.AuthenticationMethodsReferences = append([]string(nil), cl.AuthenticationMethodsReferences...)
			cl.Extra = maps.Clone(cl.Extra)
			d.Claims = &cl
		}
		if s.DefaultSession.Headers != nil {
			h := *s.DefaultSession.Headers
			h.Extra = maps.Clone(h.Extra)
			d.Headers = &h
		}
		c.DefaultSession = &d
	}
	return &c
}

// SetExpiresAt records a token's expiry.
func (s *Session) SetExpiresAt(key fosite.TokenType, exp time.Time) {
	s.ensure()
	s.DefaultSession.SetExpiresAt(key, exp)
}

// GetExpiresAt returns a token's expiry (zero: none recorded).
func (s *Session) GetExpiresAt(key fosite.TokenType) time.Time {
	if s == nil || s.DefaultSession == nil {
		return time.Time{}
	}
	return s.DefaultSession.GetExpiresAt(key)
}

// IDTokenClaims returns the claims of the ID token, created on first use.
func (s *Session) IDTokenClaims() *jwt.IDTokenClaims {
	s.ensure()
	return s.DefaultSession.IDTokenClaims()
}

// IDTokenHeaders returns the ID token's extra headers.
func (s *Session) IDTokenHeaders() *jwt.Headers {
	s.ensure()
	return s.DefaultSession.IDTokenHeaders()
}

// SetSubject sets the subject (fosite's password grant calls it).
func (s *Session) SetSubject(sub string) {
	s.ensure()
	s.DefaultSession.Subject = sub
	s.DefaultSession.Username = sub
	s.IDTokenClaims().Subject = sub
}

// GetSubject returns the subject.
func (s *Session) GetSubject() string {
	if s == nil || s.DefaultSession == nil {
		return ""
	}
	return s.DefaultSession.Subject
}

// GetUsername returns the user name, for introspection.
func (s *Session) GetUsername() string {
	if s == nil || s.DefaultSession == nil {
		return ""
	}
	return s.DefaultSession.Username
}

func (s *Session) ensure() {
	if s.DefaultSession == nil {
		s.DefaultSession = &openid.DefaultSession{}
	}
}

// sessionJSON is the stored form of a Session: fosite's ID token claims
// and headers are left out while they hold nothing but the subject (client
// credentials, most refreshes), which halves a token record and with it
// the pages a commit writes.
type sessionJSON struct {
	Subject   string                         `json:"sub,omitempty"`
	Username  string                         `json:"username,omitempty"`
	ExpiresAt map[fosite.TokenType]time.Time `json:"exp,omitempty"`
	Claims    *jwt.IDTokenClaims             `json:"claims,omitempty"`
	Headers   map[string]any                 `json:"headers,omitempty"`
	Realm     string                         `json:"realm,omitempty"`
	User      string                         `json:"user,omitempty"`
	Journey   string                         `json:"journey,omitempty"`
	AuthTime  time.Time                      `json:"auth_time,omitzero"`
}

// MarshalJSON encodes the session compactly (see sessionJSON).
func (s *Session) MarshalJSON() ([]byte, error) {
	out := sessionJSON{Realm: s.Realm, User: s.User, Journey: s.Journey, AuthTime: s.AuthTime}
	if d := s.DefaultSession; d != nil {
		out.Subject, out.Username, out.ExpiresAt = d.Subject, d.Username, d.ExpiresAt
		if c := d.Claims; c != nil && !onlySubject(c, d.Subject) {
			out.Claims = c
		}
		if d.Headers != nil && len(d.Headers.Extra) > 0 {
			out.Headers = d.Headers.Extra
		}
	}
	return json.Marshal(&out)
}

// UnmarshalJSON decodes what MarshalJSON wrote. Expiries s already holds
// for token types the stored form does not name are kept (see
// keptExpiries).
func (s *Session) UnmarshalJSON(b []byte) error {
	var in sessionJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	d := &openid.DefaultSession{
		Subject: in.Subject, Username: in.Username, ExpiresAt: s.keptExpiries(in.ExpiresAt),
		Claims: in.Claims, Headers: &jwt.Headers{Extra: in.Headers},
	}
	if d.Claims == nil {
		d.Claims = &jwt.IDTokenClaims{Subject: in.Subject}
	}
	*s = Session{DefaultSession: d, Realm: in.Realm, User: in.User, Journey: in.Journey, AuthTime: in.AuthTime}
	return nil
}

// keptExpiries returns the stored expiries together with those s already
// holds for token types the stored form does not name (the stored ones win
// where both do), as encoding/json merges into a map.
//
// fosite relies on this: in a code exchange it sets the new access and
// refresh tokens' expiries on the request's session and then decodes the
// code's stored session — and the PKCE and OpenID Connect records, which
// carry only the code's expiry — into that same session before it stores
// the tokens. Replacing the map there issued access tokens that lived
// until the store swept them (10 h) whatever access_token_ttl said, and
// refresh tokens that never expired.
func (s *Session) keptExpiries(stored map[fosite.TokenType]time.Time) map[fosite.TokenType]time.Time {
	if s.DefaultSession == nil || len(s.DefaultSession.ExpiresAt) == 0 {
		return stored
	}
	// A copy: the decoded session shares no map with what it replaces.
	exp := maps.Clone(s.DefaultSession.ExpiresAt)
	maps.Copy(exp, stored)
	return exp
}

func onlySubject(c *jwt.IDTokenClaims, sub string) bool {
	return c.Subject == sub && c.JTI == "" && c.Issuer == "" && len(c.Audience) == 0 && c.Nonce == "" &&
		c.ExpiresAt.IsZero() && c.IssuedAt.IsZero() && c.RequestedAt.IsZero() && c.AuthTime.IsZero() &&
		c.AccessTokenHash == "" && c.AuthenticationContextClassReference == "" &&
		len(c.AuthenticationMethodsReferences) == 0 && c.CodeHash == "" && len(c.Extra) == 0
}

// newGrantID returns a request id that sorts by time (hex of the clock,
// then random hex), so the per-grant index in the store grows at its end
// instead of touching a random page with every token.
func newGrantID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixNano()))
	if _, err := rand.Read(b[8:]); err != nil {
		panic("oauth: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}
