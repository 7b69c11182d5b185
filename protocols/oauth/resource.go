package oauth

import (
	"context"
	"time"

	"github.com/ory/fosite"
)

// This file is the provider as a resource server in the same process
// (protocols/resource) sees it: its public keys and its token store,
// without an HTTP round trip or client authentication.

// PublicJWKS returns the published key set (the body of /oauth2/jwks), so a
// resource server in the same process checks JWT access tokens against the
// keys as they are now, rotations included.
func (p *Provider) PublicJWKS() []byte { return p.ring.Load().JWKS() }

// AccessTokenInfo is what the store says about an active access token.
type AccessTokenInfo struct {
	Subject  string // the user name, or the client id for client credentials
	ClientID string
	// Realm is the realm of the relying party the token was issued to.
	Realm  string
	Scopes []string
	// Audience is the aud of a JWT access token: the granted audiences,
	// else the client id.
	Audience []string
	Expires  time.Time // zero: never
	IssuedAt time.Time
	ACR      string // the journey that logged the user in
}

// IntrospectAccessToken looks an access token (opaque or JWT) up in the
// store as /oauth2/introspect does, for a resource server in the same
// process: ok is false for a token that is unknown, expired, revoked, of a
// relying party no longer configured, or of a user who no longer exists.
func (p *Provider) IntrospectAccessToken(ctx context.Context, token string) (*AccessTokenInfo, bool) {
	tu, ar, err := p.f.IntrospectToken(ctx, token, fosite.AccessToken, NewSession())
	if err != nil || tu != fosite.AccessToken {
		return nil, false
	}
	owner, _ := ar.GetClient().(*client)
	if owner == nil {
		return nil, false
	}
	if s, _ := ar.GetSession().(*Session); p.sessionUserGone(s, time.Now()) {
		return nil, false
	}
	info := &AccessTokenInfo{
		Subject:  ar.GetSession().GetSubject(),
		ClientID: owner.GetID(),
		Realm:    owner.cfg.Realm,
		Scopes:   append([]string(nil), ar.GetGrantedScopes()...),
		Audience: append([]string(nil), ar.GetGrantedAudience()...),
		Expires:  ar.GetSession().GetExpiresAt(fosite.AccessToken),
		IssuedAt: ar.GetRequestedAt(),
	}
	if info.Subject == "" {
		info.Subject = owner.GetID()
	}
	if len(info.Audience) == 0 { // as the aud claim of a JWT access token
		info.Audience = []string{owner.GetID()}
	}
	if s, ok := ar.GetSession().(*Session); ok {
		info.ACR = s.Journey
	}
	return info, true
}
