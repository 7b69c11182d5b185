package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/ory/fosite"

	"github.com/authd/authd/engine/users"
)

// Grant types a relying party may be given.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantPassword          = "password"
	GrantClientCredentials = "client_credentials"
)

// Never is a token lifetime meaning "does not expire" (`"0"` in HCL).
const Never time.Duration = -1

// never is how far away a never-expiring access token's exp claim is: JWTs
// need a number, and a century is beyond any key's life.
const never = 100 * 365 * 24 * time.Hour

// Client is a relying party as the provider needs it: the narrow input
// FromDSL builds from a relying_party block.
type Client struct {
	// ID is the client_id.
	ID string
	// Name is the relying party block's name, for logs.
	Name string
	// Realm and Journey say who may log in and how. Journey may be empty
	// for a client that only uses client_credentials.
	Realm   string
	Journey string
	// Public clients (SPAs, mobile apps) have no secret and must use PKCE.
	Public bool
	// Secret is a confidential client's secret; SecretHash its argon2id,
	// bcrypt or sha512-crypt hash instead. Exactly one is set.
	Secret     string
	SecretHash string
	GrantTypes []string
	// PKCERequired makes PKCE (S256) mandatory; it always is for public
	// clients.
	PKCERequired bool
	// RedirectURIs are matched exactly.
	RedirectURIs []string
	// PostLogoutRedirectURIs may be named by RP-initiated logout (exact
	// match; a redirect URI is not one unless listed here too).
	PostLogoutRedirectURIs []string
	Scopes                 []string
	// AccessTokenTTL and RefreshTokenTTL: zero means the default, Never
	// means no expiry.
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	// JWTAccessTokens issues RFC 9068 JWT access tokens (ES256) instead of
	// opaque ones.
	JWTAccessTokens bool
	Claims          []Claim
	// Introspectors are client ids of resource servers that may introspect
	// this client's tokens (besides the client itself and the audiences a
	// token was issued for).
	Introspectors []string
}

// Claim is a claim block: Value is evaluated against the user (and the
// request) and issued when the token grants Scope.
type Claim struct {
	Name  string
	Scope string
	Value hcl.Expression
}

// Defaults of a relying party's token lifetimes.
const (
	DefaultAccessTokenTTL  = 36000 * time.Second
	DefaultRefreshTokenTTL = 24 * time.Hour
)

// client is a compiled Client: what fosite sees.
type client struct {
	cfg        *Client
	grants     fosite.Arguments
	scopes     fosite.Arguments
	accessTTL  time.Duration
	refreshTTL time.Duration // -1: never
	jwtAccess  bool
	secretMAC  []byte // HMAC of a configured secret
	macKey     []byte
	// verified caches the HMAC of a secret that matched SecretHash, so the
	// slow hash is paid once per process, not per grant.
	verified atomic.Pointer[[]byte]
}

var (
	_ fosite.Client                         = (*client)(nil)
	_ fosite.ClientWithCustomTokenLifespans = (*client)(nil)
)

func compileClient(c *Client, macKey []byte) (*client, error) {
	if c.ID == "" {
		return nil, errors.New("a client has no id")
	}
	if c.Public && (c.Secret != "" || c.SecretHash != "") {
		return nil, fmt.Errorf("client %q is public but has a secret", c.ID)
	}
	if !c.Public && c.Secret == "" && c.SecretHash == "" {
		return nil, fmt.Errorf("client %q is confidential but has no secret", c.ID)
	}
	if c.SecretHash != "" {
		if err := users.CheckHashFormat(c.SecretHash); err != nil {
			return nil, fmt.Errorf("client %q: client_secret_hash: %w", c.ID, err)
		}
	}
	for _, u := range c.RedirectURIs {
		if err := checkRedirectURI(u); err != nil {
			return nil, fmt.Errorf("client %q: redirect URI %q: %w", c.ID, u, err)
		}
	}
	for _, g := range c.GrantTypes {
		switch g {
		case GrantAuthorizationCode, GrantRefreshToken, GrantPassword, GrantClientCredentials:
		default:
			return nil, fmt.Errorf("client %q: unknown grant type %q", c.ID, g)
		}
	}
	cc := &client{
		cfg:        c,
		grants:     fosite.Arguments(slices.Clone(c.GrantTypes)),
		scopes:     fosite.Arguments(slices.Clone(c.Scopes)),
		accessTTL:  ttl(c.AccessTokenTTL, DefaultAccessTokenTTL, never),
		refreshTTL: ttl(c.RefreshTokenTTL, DefaultRefreshTokenTTL, -1),
		jwtAccess:  c.JWTAccessTokens,
		macKey:     macKey,
	}
	if len(cc.grants) == 0 {
		cc.grants = fosite.Arguments{GrantAuthorizationCode}
	}
	if c.Secret != "" {
		cc.secretMAC = mac(macKey, c.Secret)
	}
	return cc, nil
}

func ttl(v, def, neverAs time.Duration) time.Duration {
	switch {
	case v == Never:
		return neverAs
	case v <= 0:
		return def
	}
	return v
}

// checkRedirectURI refuses what must never be a redirect target: relative
// URIs, fragments, and plain http anywhere but on the loopback interface.
func checkRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return errors.New("not an absolute URI")
	}
	if u.Fragment != "" {
		return errors.New("has a fragment")
	}
	if u.Scheme == "http" && !fosite.IsLocalhost(u) {
		return errors.New("http:// is only allowed for loopback addresses")
	}
	return nil
}

func mac(key []byte, s string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(s))
	return h.Sum(nil)
}

// checkSecret compares a presented secret in constant time: against the
// HMAC of the configured secret, or of the one that last matched the hash.
// Only a secret never seen before pays the slow hash.
func (c *client) checkSecret(secret string) bool {
	m := mac(c.macKey, secret)
	if c.secretMAC != nil {
		return subtle.ConstantTimeCompare(m, c.secretMAC) == 1
	}
	if v := c.verified.Load(); v != nil && subtle.ConstantTimeCompare(m, *v) == 1 {
		return true
	}
	ok, err := users.VerifyPassword(c.cfg.SecretHash, secret)
	if err != nil || !ok {
		return false
	}
	c.verified.Store(&m)
	return true
}

func (c *client) GetID() string                   { return c.cfg.ID }
func (c *client) GetHashedSecret() []byte         { return nil }
func (c *client) GetRedirectURIs() []string       { return c.cfg.RedirectURIs }
func (c *client) GetGrantTypes() fosite.Arguments { return c.grants }
func (c *client) GetResponseTypes() fosite.Arguments {
	return fosite.Arguments{"code"}
}
func (c *client) GetScopes() fosite.Arguments   { return c.scopes }
func (c *client) IsPublic() bool                { return c.cfg.Public }
func (c *client) GetAudience() fosite.Arguments { return nil }

// GetEffectiveLifespan gives fosite the relying party's token lifetimes; a
// refresh token that never expires is -1 to fosite.
func (c *client) GetEffectiveLifespan(_ fosite.GrantType, tt fosite.TokenType, fallback time.Duration) time.Duration {
	switch tt {
	case fosite.AccessToken:
		return c.accessTTL
	case fosite.RefreshToken:
		return c.refreshTTL
	}
	return fallback
}

func (c *client) pkceRequired() bool { return c.cfg.Public || c.cfg.PKCERequired }

// redirectRegistered reports an exact match (fosite also accepts any port
// on loopback, RFC 8252; the contract says exact).
func (c *client) redirectRegistered(u *url.URL) bool {
	return u != nil && slices.Contains(c.cfg.RedirectURIs, u.String())
}

func (c *client) logoutRedirectRegistered(raw string) bool {
	return slices.Contains(c.cfg.PostLogoutRedirectURIs, raw)
}

func (c *client) mayIntrospect(callerID string) bool {
	return callerID == c.cfg.ID || slices.Contains(c.cfg.Introspectors, callerID)
}

// ---- client authentication ----

// authenticateClient is fosite's ClientAuthenticationStrategy:
// client_secret_basic and client_secret_post for confidential clients, the
// bare client_id for public ones. It records the client in the request
// state, so the password grant knows whose journey to run.
func (p *Provider) authenticateClient(ctx context.Context, r *http.Request, form url.Values) (fosite.Client, error) {
	id, secret, _, err := clientCredentials(r, form)
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, fosite.ErrInvalidClient.WithHint("Client authentication failed: no client_id was sent (use HTTP Basic or client_id in the body).")
	}
	fc, err := p.GetClient(ctx, id)
	if err != nil {
		return nil, fosite.ErrInvalidClient.WithHint("Client authentication failed: unknown client or wrong secret.")
	}
	c := fc.(*client)
	if c.cfg.Public {
		// Some native-app libraries send HTTP Basic with an empty password;
		// that is still "none".
		if secret != "" {
			return nil, fosite.ErrInvalidClient.WithHint("Client authentication failed: a public client authenticates with its client_id alone (method none).")
		}
	} else if secret == "" || !c.checkSecret(secret) {
		return nil, fosite.ErrInvalidClient.WithHint("Client authentication failed: unknown client or wrong secret.")
	}
	if st := stateFrom(ctx); st != nil {
		st.client = c
	}
	return c, nil
}

// clientCredentials takes client_id and client_secret from HTTP Basic
// (form-urlencoded per RFC 6749 §2.3.1) or from the body, but not both.
func clientCredentials(r *http.Request, form url.Values) (id, secret string, basic bool, err error) {
	bid, bsecret, ok := r.BasicAuth()
	fid, fsecret := form.Get("client_id"), form.Get("client_secret")
	if !ok {
		return fid, fsecret, false, nil
	}
	if fsecret != "" {
		return "", "", false, fosite.ErrInvalidRequest.WithHint("The client sent credentials both in the Authorization header and in the body; use one method.")
	}
	id, err1 := url.QueryUnescape(bid)
	secret, err2 := url.QueryUnescape(bsecret)
	if err1 != nil || err2 != nil {
		return "", "", false, fosite.ErrInvalidClient.WithHint("The HTTP Basic credentials are not form-urlencoded.")
	}
	if fid != "" && fid != id {
		return "", "", false, fosite.ErrInvalidRequest.WithHint("client_id in the body differs from the one in the Authorization header.")
	}
	return id, secret, true, nil
}

// reqState carries what one token request learns along the way through
// fosite's handlers (which only pass a context).
type reqState struct {
	client  *client
	req     *http.Request
	session *Session
	// grantErr replaces fosite's generic answer for a failed password
	// grant with one that says why.
	grantErr *fosite.RFC6749Error
}

type stateKey struct{}

func withState(ctx context.Context, st *reqState) context.Context {
	return context.WithValue(ctx, stateKey{}, st)
}

func stateFrom(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	return st
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
