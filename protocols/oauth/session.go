package oauth

import (
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
