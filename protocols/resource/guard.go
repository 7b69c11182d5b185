package resource

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/authd/authd/dsl"
)

// Defaults of a protected_resource.
const (
	DefaultValidateInterval = 30 * time.Second
	// sessionCacheCap bounds how long "session" keeps the answer for a
	// token that does not say when it expires.
	sessionCacheCap = time.Hour
	// cacheEntries bounds the introspection cache of one resource.
	cacheEntries = 10000
	// maxRemoteIntrospections bounds the calls one resource has in flight
	// to its introspection_url. The checks are not rate limited per
	// address (a gateway sends them all from one), and every token not
	// seen before is a call: bursts of them wait for a slot instead of
	// flooding the introspection server.
	maxRemoteIntrospections = 32
)

// guard is one protected_resource, compiled.
type guard struct {
	name     string
	realm    string
	scopes   []string
	audience []string
	headers  []claimHeader
	now      func() time.Time

	// internal
	internal bool
	keys     keySource // nil: none (opaque tokens only)
	issuer   string
	typs     []string // accepted JWT typ values; "" means absent

	// own is set when the tokens are authd's: client ids map to realms,
	// and opaque tokens are looked up in process.
	own         bool
	local       LocalIssuer
	clientRealm map[string]string

	// external
	introspect func(ctx context.Context, token string) (*tokenInfo, error)
	frequency  string
	interval   time.Duration
	cache      *cache
	// flight joins concurrent checks of one token (by cache key) into one
	// introspection while answers are cached.
	flight singleflight.Group
}

type claimHeader struct{ header, claim string }

func (s *Server) newGuard(pr *dsl.ProtectedResource, clientRealm map[string]string) (*guard, error) {
	g := &guard{
		name:     pr.Name,
		realm:    pr.Realm,
		scopes:   slices.Clone(pr.RequiredScopes),
		audience: slices.Clone(pr.Audience),
		now:      s.opts.Now,
		local:    s.opts.Local,
	}
	for _, h := range pr.Headers {
		g.headers = append(g.headers, claimHeader{header: h.Name, claim: h.Claim})
	}
	switch pr.TokenValidation {
	case "", "internal":
		g.internal = true
		if pr.JWKSURL != "" {
			if pr.Issuer == "" {
				return nil, errors.New("jwks_url needs issuer: the iss the other issuer's tokens carry")
			}
			g.keys = newRemoteKeys(pr.JWKSURL, s.opts.HTTP, s.opts.Now, s.opts.Log)
			g.issuer = pr.Issuer
			g.typs = []string{"at+jwt", "application/at+jwt", "jwt", ""}
			return g, nil
		}
		if s.opts.Local == nil {
			return nil, errors.New("internal validation without jwks_url checks authd's own tokens, but authd issues none (no relying_party)")
		}
		g.own, g.clientRealm = true, clientRealm
		g.keys = &localKeys{jwks: s.opts.Local.PublicJWKS}
		g.issuer = s.opts.Local.Issuer()
		g.typs = []string{"at+jwt", "application/at+jwt"}
	case "external":
		g.frequency, g.interval = pr.ValidateFrequency, pr.ValidateInterval
		if g.frequency == "" {
			g.frequency = "interval"
		}
		if g.interval <= 0 {
			g.interval = DefaultValidateInterval
		}
		if g.frequency != "transaction" {
			g.cache = newCache(cacheEntries)
		}
		if pr.IntrospectionURL != "" {
			ri := &remoteIntrospection{url: pr.IntrospectionURL, clientID: pr.ClientID, secret: pr.ClientSecret.Value(), http: s.opts.HTTP, now: s.opts.Now, sem: make(chan struct{}, maxRemoteIntrospections)}
			g.introspect = ri.introspect
			return g, nil
		}
		if s.opts.Local == nil {
			return nil, errors.New("external validation without introspection_url introspects authd itself, but authd issues no tokens (no relying_party)")
		}
		g.own, g.clientRealm = true, clientRealm
		g.introspect = g.localIntrospect
	default:
		return nil, errors.New("token_validation must be \"internal\" or \"external\"")
	}
	return g, nil
}

// check validates a token and applies the checks common to both modes:
// realm (authd's own tokens) and audience. Scopes are the caller's.
func (g *guard) check(ctx context.Context, token string) (*tokenInfo, error) {
	if len(token) > maxTokenBytes {
		return nil, invalid("token longer than %d bytes", maxTokenBytes)
	}
	var (
		info *tokenInfo
		err  error
	)
	if g.internal {
		info, err = g.checkInternal(ctx, token)
	} else {
		info, err = g.checkExternal(ctx, token)
	}
	if err != nil {
		return nil, err
	}
	if g.own && info.realm != g.realm {
		return nil, invalid("token of realm %q, not %q", info.realm, g.realm)
	}
	if len(g.audience) > 0 && !slices.ContainsFunc(info.audience, func(a string) bool { return slices.Contains(g.audience, a) }) {
		return nil, invalid("token for audience %v, not %v", info.audience, g.audience)
	}
	return info, nil
}

// checkInternal verifies a JWT locally; an opaque authd token is looked
// up in authd's store (there is nothing to verify locally).
func (g *guard) checkInternal(ctx context.Context, token string) (*tokenInfo, error) {
	if strings.Count(token, ".") != 2 {
		if g.own {
			return g.localIntrospect(ctx, token)
		}
		return nil, invalid("not a JWT")
	}
	return g.verifyJWT(ctx, token)
}

// checkExternal introspects, answering from the cache while a positive
// answer is fresh. With a cache, concurrent checks of one token share one
// introspection, whose answer is cached before they are let go (so a
// burst of requests with a new token costs one call). The shared call
// outlives a caller that gives up, since others may wait for it; the
// HTTP client's timeout bounds it.
func (g *guard) checkExternal(ctx context.Context, token string) (*tokenInfo, error) {
	now := g.now()
	if g.cache == nil {
		return g.introspectValid(ctx, token, now)
	}
	key := cacheKey(token)
	if info := g.cache.get(key, now); info != nil {
		return checkTimes(info, now)
	}
	v, err, _ := g.flight.Do(string(key[:]), func() (any, error) {
		info, err := g.introspectValid(context.WithoutCancel(ctx), token, now)
		if err != nil {
			return nil, err
		}
		until := now.Add(g.interval)
		if g.frequency == "session" {
			until = now.Add(sessionCacheCap)
			if !info.expires.IsZero() {
				until = info.expires
			}
		}
		if !info.expires.IsZero() && info.expires.Before(until) {
			until = info.expires
		}
		g.cache.put(key, info, until, now)
		return info, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*tokenInfo), nil
}

// introspectValid introspects and refuses an expired answer.
func (g *guard) introspectValid(ctx context.Context, token string, now time.Time) (*tokenInfo, error) {
	info, err := g.introspect(ctx, token)
	if err != nil {
		return nil, err
	}
	return checkTimes(info, now)
}

func checkTimes(info *tokenInfo, now time.Time) (*tokenInfo, error) {
	if !info.expires.IsZero() && !now.Before(info.expires) {
		return nil, invalid("token expired")
	}
	return info, nil
}

// localIntrospect looks a token up in authd's own store, in process.
func (g *guard) localIntrospect(ctx context.Context, token string) (*tokenInfo, error) {
	at, ok := g.local.IntrospectAccessToken(ctx, token)
	if !ok {
		return nil, invalid("unknown, expired or revoked token")
	}
	claims := map[string]any{
		"sub":       at.Subject,
		"client_id": at.ClientID,
		"scope":     strings.Join(at.Scopes, " "),
		"aud":       toAny(at.Audience),
		"iat":       float64(at.IssuedAt.Unix()),
	}
	if at.ACR != "" {
		claims["acr"] = at.ACR
	}
	if !at.Expires.IsZero() {
		claims["exp"] = float64(at.Expires.Unix())
	}
	return &tokenInfo{subject: at.Subject, scopes: at.Scopes, audience: at.Audience, expires: at.Expires, realm: at.Realm, claims: claims}, nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
