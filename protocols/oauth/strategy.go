package oauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/token/jwt"
)

// Token prefixes of the opaque (HMAC) tokens, so a leaked token is
// recognisable by secret scanners and a token of one kind is never taken
// for another.
const (
	prefixAccess  = "authd_at_"
	prefixRefresh = "authd_rt_"
	prefixCode    = "authd_ac_"
	// jwtSigPrefix marks the storage key of a JWT access token: its jti
	// (which sorts by time, so a busy token endpoint appends to the store
	// instead of touching a random page per token) and the SHA-256 of the
	// whole token. A token is valid only if the store has exactly it, so
	// introspection needs no signature check.
	jwtSigPrefix = "jwt."
)

// tokenStrategy issues opaque HMAC codes and refresh tokens, and access
// tokens that are opaque or JWTs (RFC 9068, ES256) per relying party.
type tokenStrategy struct {
	hmac   *oauth2.HMACSHAStrategyUnPrefixed
	ring   func() *keyring
	issuer string
}

var _ oauth2.CoreStrategy = (*tokenStrategy)(nil)

func isJWT(token string) bool { return strings.Count(token, ".") == 2 }

func jwtSignature(jti, token string) string {
	sum := sha256.Sum256([]byte(token))
	return jwtSigPrefix + jti + "." + base64.RawURLEncoding.EncodeToString(sum[:])
}

// jwtKey returns the storage key of a presented JWT, or "" when it is not
// one of ours in shape. It finds the jti by a plain scan of the payload:
// whatever the payload says, the key also holds the hash of the whole
// token, so only a token authd stored exactly can match.
func jwtKey(token string) string {
	i := strings.IndexByte(token, '.')
	j := strings.LastIndexByte(token, '.')
	if i < 0 || j <= i || j-i > 8192 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(token[i+1 : j])
	if err != nil {
		return ""
	}
	const field = `"jti":"`
	k := bytes.Index(payload, []byte(field))
	if k < 0 {
		return ""
	}
	rest := payload[k+len(field):]
	e := bytes.IndexByte(rest, '"')
	if e <= 0 || e > 64 {
		return ""
	}
	return jwtSignature(string(rest[:e]), token)
}

func (s *tokenStrategy) AccessTokenSignature(_ context.Context, token string) string {
	if t, ok := strings.CutPrefix(token, prefixAccess); ok {
		return s.hmac.Enigma.Signature(t)
	}
	if isJWT(token) {
		return jwtKey(token)
	}
	return ""
}

// atClaims are the claims of a JWT access token (RFC 9068).
type atClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience []string `json:"aud"`
	Expires  int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	JTI      string   `json:"jti"`
	ClientID string   `json:"client_id"`
	Scope    string   `json:"scope,omitempty"`
	AuthTime int64    `json:"auth_time,omitempty"`
	ACR      string   `json:"acr,omitempty"`
}

func (s *tokenStrategy) GenerateAccessToken(ctx context.Context, r fosite.Requester) (string, string, error) {
	c, _ := r.GetClient().(*client)
	if c == nil || !c.jwtAccess {
		t, sig, err := s.hmac.GenerateAccessToken(ctx, r)
		if err != nil {
			return "", "", err
		}
		return prefixAccess + t, sig, nil
	}
	now := time.Now().UTC()
	exp := r.GetSession().GetExpiresAt(fosite.AccessToken)
	if exp.IsZero() {
		exp = now.Add(c.accessTTL)
	}
	cl := atClaims{
		Issuer:   s.issuer,
		Subject:  r.GetSession().GetSubject(),
		Audience: r.GetGrantedAudience(),
		Expires:  exp.Unix(),
		IssuedAt: now.Unix(),
		JTI:      newGrantID(),
		ClientID: c.GetID(),
		Scope:    strings.Join(r.GetGrantedScopes(), " "),
	}
	if cl.Subject == "" {
		cl.Subject = c.GetID()
	}
	if len(cl.Audience) == 0 {
		cl.Audience = []string{c.GetID()}
	}
	if sess, ok := r.GetSession().(*Session); ok {
		if !sess.AuthTime.IsZero() {
			cl.AuthTime = sess.AuthTime.Unix()
		}
		cl.ACR = sess.Journey
	}
	k := s.ring().signer(algES256)
	if k == nil {
		return "", "", errors.New("oauth: no ES256 signing key")
	}
	tok, err := k.sign(&cl, "at+jwt", nil)
	if err != nil {
		return "", "", err
	}
	return tok, jwtSignature(cl.JTI, tok), nil
}

// ValidateAccessToken checks expiry and, for opaque tokens, the HMAC. A JWT
// reaches here only after the store found it by the hash of the whole
// token, which is proof enough that authd issued it unchanged.
func (s *tokenStrategy) ValidateAccessToken(ctx context.Context, r fosite.Requester, token string) error {
	if t, ok := strings.CutPrefix(token, prefixAccess); ok {
		return s.hmac.ValidateAccessToken(ctx, r, t)
	}
	if !isJWT(token) {
		return fosite.ErrInvalidTokenFormat
	}
	if exp := r.GetSession().GetExpiresAt(fosite.AccessToken); !exp.IsZero() && exp.Before(time.Now().UTC()) {
		return fosite.ErrTokenExpired.WithHintf("Access token expired at '%s'.", exp)
	}
	return nil
}

func (s *tokenStrategy) RefreshTokenSignature(_ context.Context, token string) string {
	if t, ok := strings.CutPrefix(token, prefixRefresh); ok {
		return s.hmac.Enigma.Signature(t)
	}
	return ""
}

func (s *tokenStrategy) GenerateRefreshToken(ctx context.Context, r fosite.Requester) (string, string, error) {
	t, sig, err := s.hmac.GenerateRefreshToken(ctx, r)
	if err != nil {
		return "", "", err
	}
	return prefixRefresh + t, sig, nil
}

func (s *tokenStrategy) ValidateRefreshToken(ctx context.Context, r fosite.Requester, token string) error {
	t, ok := strings.CutPrefix(token, prefixRefresh)
	if !ok {
		return fosite.ErrInvalidTokenFormat
	}
	return s.hmac.ValidateRefreshToken(ctx, r, t)
}

func (s *tokenStrategy) AuthorizeCodeSignature(_ context.Context, token string) string {
	if t, ok := strings.CutPrefix(token, prefixCode); ok {
		return s.hmac.Enigma.Signature(t)
	}
	return ""
}

func (s *tokenStrategy) GenerateAuthorizeCode(ctx context.Context, r fosite.Requester) (string, string, error) {
	t, sig, err := s.hmac.GenerateAuthorizeCode(ctx, r)
	if err != nil {
		return "", "", err
	}
	return prefixCode + t, sig, nil
}

func (s *tokenStrategy) ValidateAuthorizeCode(ctx context.Context, r fosite.Requester, token string) error {
	t, ok := strings.CutPrefix(token, prefixCode)
	if !ok {
		return fosite.ErrInvalidTokenFormat
	}
	return s.hmac.ValidateAuthorizeCode(ctx, r, t)
}

// jwtSigner is fosite's jwt.Signer over the keyring, for ID tokens (RS256)
// and for decoding an id_token_hint signed by any published key.
type jwtSigner struct {
	ring func() *keyring
	alg  string
}

var _ jwt.Signer = (*jwtSigner)(nil)

func (j *jwtSigner) Generate(_ context.Context, claims jwt.MapClaims, header jwt.Mapper) (string, string, error) {
	k := j.ring().signer(j.alg)
	if k == nil {
		return "", "", errors.New("oauth: no signing key for " + j.alg)
	}
	var extra map[string]any
	if header != nil {
		extra = header.ToMap()
	}
	tok, err := k.sign(map[string]any(claims), "JWT", extra)
	if err != nil {
		return "", "", err
	}
	return tok, tok[strings.LastIndexByte(tok, '.')+1:], nil
}

func (j *jwtSigner) Validate(ctx context.Context, token string) (string, error) {
	if _, err := j.Decode(ctx, token); err != nil {
		return "", err
	}
	return j.GetSignature(ctx, token)
}

func (j *jwtSigner) Decode(_ context.Context, token string) (*jwt.Token, error) {
	ring := j.ring()
	return jwt.ParseWithClaims(token, jwt.MapClaims{}, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k := ring.lookup(kid)
		if k == nil || string(t.Method) != k.alg {
			return nil, errors.New("unknown signing key")
		}
		return k.priv.Public(), nil
	})
}

func (j *jwtSigner) Hash(_ context.Context, in []byte) ([]byte, error) {
	sum := sha256.Sum256(in)
	return sum[:], nil
}

func (j *jwtSigner) GetSignature(_ context.Context, token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("header, body and signature must all be set")
	}
	return parts[2], nil
}

func (j *jwtSigner) GetSigningMethodLength(context.Context) int { return sha256.Size }

func randomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("oauth: no randomness: " + err.Error()) // crypto/rand never fails on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
