package resource

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v3"
)

// Signature algorithms a JWT may use; "none" and the HMAC ones (which
// would let anyone holding a public key forge) never.
var jwtAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// nbfLeeway allows an issuer whose clock runs ahead. exp gets none: a
// resource server does not lengthen the life the issuer gave a token.
const nbfLeeway = time.Minute

// JWKS fetching limits.
const (
	maxJWKSBytes = 1 << 20
	// jwksMinRefresh: an unknown kid fetches the key set again at most
	// this often, so tokens with made-up kids cannot flood the issuer.
	jwksMinRefresh = 10 * time.Second
	// jwksMaxAge: the key set is fetched again when this old.
	jwksMaxAge = time.Hour
)

// keySource finds the verification keys of a kid ("" when the token names
// none: every key).
type keySource interface {
	keys(ctx context.Context, kid string) ([]jose.JSONWebKey, error)
}

// localKeys are authd's own published keys, parsed again only when the
// provider's key set changes (rotation).
type localKeys struct {
	jwks   func() []byte
	parsed atomic.Pointer[parsedSet]
}

type parsedSet struct {
	raw []byte
	set jose.JSONWebKeySet
}

func (k *localKeys) keys(_ context.Context, kid string) ([]jose.JSONWebKey, error) {
	raw := k.jwks()
	p := k.parsed.Load()
	if p == nil || !bytes.Equal(p.raw, raw) {
		p = &parsedSet{raw: raw}
		if err := json.Unmarshal(raw, &p.set); err != nil {
			return nil, fmt.Errorf("authd's own key set: %w", err)
		}
		k.parsed.Store(p)
	}
	return pick(&p.set, kid), nil
}

func pick(set *jose.JSONWebKeySet, kid string) []jose.JSONWebKey {
	if kid == "" {
		return set.Keys
	}
	return set.Key(kid)
}

// remoteKeys is the key set of another issuer at jwks_url: fetched on
// first use, again when an unknown kid appears (at most every
// jwksMinRefresh) and when an hour old. A failed fetch keeps the old set.
type remoteKeys struct {
	url  string
	http *http.Client
	now  func() time.Time
	log  *slog.Logger

	mu      sync.Mutex
	set     *jose.JSONWebKeySet
	fetched time.Time // of set
	tried   time.Time // last attempt
}

func newRemoteKeys(url string, c *http.Client, now func() time.Time, log *slog.Logger) *remoteKeys {
	return &remoteKeys{url: url, http: c, now: now, log: log}
}

func (k *remoteKeys) keys(ctx context.Context, kid string) ([]jose.JSONWebKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	stale := k.set == nil || now.Sub(k.fetched) >= jwksMaxAge
	unknown := k.set != nil && len(pick(k.set, kid)) == 0
	if stale || (unknown && now.Sub(k.tried) >= jwksMinRefresh) {
		k.tried = now
		set, err := k.fetch(ctx)
		if err != nil {
			k.log.Warn("fetching the key set", "url", k.url, "err", err)
			if k.set == nil {
				return nil, errUnavailable
			}
		} else {
			k.set, k.fetched = set, now
		}
	}
	return pick(k.set, kid), nil
}

func (k *remoteKeys) fetch(ctx context.Context) (*jose.JSONWebKeySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := k.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("key set larger than %d bytes", maxJWKSBytes)
	}
	set := new(jose.JSONWebKeySet)
	if err := json.Unmarshal(body, set); err != nil {
		return nil, fmt.Errorf("not a JWK set: %w", err)
	}
	return set, nil
}

// jwtHeader is what is read of a JWS header before verification.
type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// verifyJWT checks a compact JWS against the key source, then typ, iss,
// exp, nbf; audience and realm are check's.
func (g *guard) verifyJWT(ctx context.Context, token string) (*tokenInfo, error) {
	hb, err := base64.RawURLEncoding.DecodeString(token[:strings.IndexByte(token, '.')])
	if err != nil {
		return nil, invalid("malformed JWT header")
	}
	var hdr jwtHeader
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return nil, invalid("malformed JWT header")
	}
	if !slices.Contains(jwtAlgs, hdr.Alg) {
		return nil, invalid("JWT algorithm %q not accepted", hdr.Alg)
	}
	if !slices.Contains(g.typs, strings.ToLower(hdr.Typ)) {
		return nil, invalid("JWT typ %q is not an access token's", hdr.Typ)
	}
	jws, err := jose.ParseSigned(token)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, invalid("malformed JWT")
	}
	keys, err := g.keys.keys(ctx, hdr.Kid)
	if err != nil {
		return nil, err
	}
	var payload []byte
	for _, k := range keys {
		if (k.Algorithm != "" && k.Algorithm != hdr.Alg) || k.Use == "enc" {
			continue
		}
		key := k.Public() // a private key in a key set is used by its public half
		if !key.Valid() {
			continue
		}
		if p, err := jws.Verify(key.Key); err == nil {
			payload = p
			break
		}
	}
	if payload == nil {
		return nil, invalid("no key of the issuer verifies the signature (kid %q)", hdr.Kid)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil {
		return nil, invalid("malformed JWT claims")
	}
	normalizeNumbers(claims)
	if iss, _ := claims["iss"].(string); iss != g.issuer {
		return nil, invalid("issuer %q, not %q", iss, g.issuer)
	}
	now := g.now()
	exp, ok := claims["exp"].(float64)
	if !ok {
		return nil, invalid("JWT without exp")
	}
	info := &tokenInfo{claims: claims, expires: time.Unix(int64(exp), 0)}
	if !now.Before(info.expires) {
		return nil, invalid("token expired")
	}
	if nbf, ok := claims["nbf"].(float64); ok && now.Add(nbfLeeway).Before(time.Unix(int64(nbf), 0)) {
		return nil, invalid("token not valid yet")
	}
	info.subject, _ = claims["sub"].(string)
	info.audience = stringsOf(claims["aud"])
	info.scopes = scopesOf(claims)
	if g.own {
		cid, _ := claims["client_id"].(string)
		r, ok := g.clientRealm[cid]
		if !ok {
			return nil, invalid("token of client %q, which is not configured", cid)
		}
		info.realm = r
	}
	return info, nil
}

// normalizeNumbers turns json.Number claims into float64 (as encoding/json
// would) for the time claims, and leaves the rest as written so header
// values keep big integers exact.
func normalizeNumbers(claims map[string]any) {
	for _, k := range []string{"exp", "nbf", "iat"} {
		if n, ok := claims[k].(json.Number); ok {
			if f, err := n.Float64(); err == nil {
				claims[k] = f
			}
		}
	}
}

// stringsOf reads a claim that is a string or a list of strings (aud).
func stringsOf(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// scopesOf reads scope (RFC 9068, space-separated) or, from issuers that
// use it, scp (a list or a string).
func scopesOf(claims map[string]any) []string {
	if s, ok := claims["scope"].(string); ok {
		return strings.Fields(s)
	}
	switch t := claims["scp"].(type) {
	case string:
		return strings.Fields(t)
	case []any:
		return stringsOf(t)
	}
	return nil
}
