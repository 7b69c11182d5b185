// Package resource is authd as a resource server: GET
// /api/v1/authz/{name} answers whether the bearer token of a request may
// reach the protected_resource {name}, for nginx auth_request and
// Traefik/Caddy forward-auth. A gateway asks it before every request and
// passes 200 on to its upstream (with X-Authd-User, X-Authd-Scopes and the
// configured claim headers), 401 and 403 back to the client.
//
// Two ways to check a token, per resource:
//
//   - internal: a JWT access token is checked locally, with no call per
//     request: signature against authd's own keys (or the jwks_url of
//     another issuer, fetched and cached, fetched again for an unknown
//     kid), typ, iss, exp, nbf and aud. A revoked JWT stays valid until it
//     expires. An opaque authd token (authd_at_...) has no signature to
//     check, so internal mode looks it up in authd's token store, in
//     process.
//   - external: RFC 7662 introspection, of authd in process (no
//     introspection_url) or of any server over HTTP (introspection_url,
//     authenticated with client_id and client_secret). Positive answers are
//     cached per validate_frequency: "transaction" never, "interval" for
//     validate_interval, "session" until the token expires; the cache is
//     bounded. A revoked token is refused once its cached answer runs out.
//
// Every required scope must be in the token (else 403 insufficient_scope),
// the token must name one of the resource's audiences when it lists any,
// and an authd token must belong to a relying party of the resource's realm.
//
// authd run does not put the endpoint behind the per-address rate limit: a
// gateway sends the checks of all its clients from its one address, and a
// check does no password or code work. What a flood of unknown tokens
// could still cost is bounded here instead: checks of one token that
// arrive together share one introspection (when answers are cached), a
// resource has at most 32 calls in flight to its introspection_url (more
// wait for a slot), and an unknown kid refetches a jwks_url at most every
// 10 s. Clients are limited at the gateway, which sees their addresses.
package resource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/protocols/oauth"
)

// Header names of a 200 answer.
const (
	HeaderUser   = "X-Authd-User"
	HeaderScopes = "X-Authd-Scopes"
)

// maxTokenBytes bounds a presented token: anything longer is refused
// before it is parsed or sent anywhere.
const maxTokenBytes = 8 << 10

// LocalIssuer is authd's own OAuth provider (*oauth.Provider), for tokens
// authd issued itself.
type LocalIssuer interface {
	Issuer() string
	PublicJWKS() []byte
	IntrospectAccessToken(ctx context.Context, token string) (*oauth.AccessTokenInfo, bool)
}

// Options are what the server needs besides the configuration.
type Options struct {
	// Local is authd's provider; nil when authd issues no tokens, in
	// which case only resources of other issuers can be served.
	Local LocalIssuer
	// HTTP fetches jwks_url and calls introspection_url (default: a
	// client with a 5 s timeout).
	HTTP *http.Client
	Log  *slog.Logger
	// Now is the clock (default time.Now), for tests.
	Now func() time.Time
}

// Server answers forward-auth requests for every protected_resource.
type Server struct {
	opts   Options
	guards atomic.Pointer[map[string]*guard]
	mux    *http.ServeMux
}

// New returns a server with no resources; Load gives it the configuration.
func New(opts Options) *Server {
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: 5 * time.Second}
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Log = opts.Log.With("component", "resource")
	s := &Server{opts: opts, mux: http.NewServeMux()}
	empty := map[string]*guard{}
	s.guards.Store(&empty)
	s.mux.HandleFunc("GET /api/v1/authz/{name}", s.authz)
	return s
}

// Load switches to the protected_resource blocks of cfg in one step (on
// start and on every reload), or returns an error and keeps the old ones.
// Caches start empty: a changed resource never answers from the old
// one's cache.
func (s *Server) Load(cfg *dsl.Config) error {
	next := map[string]*guard{}
	if cfg != nil {
		clientRealm := map[string]string{}
		for _, rp := range cfg.RelyingParties {
			id := rp.ClientID
			if id == "" {
				id = rp.Name
			}
			clientRealm[id] = rp.Realm
		}
		for name, pr := range cfg.ProtectedResources {
			g, err := s.newGuard(pr, clientRealm)
			if err != nil {
				return fmt.Errorf("protected_resource %q: %w", name, err)
			}
			next[name] = g
		}
	}
	s.guards.Store(&next)
	return nil
}

// Handler serves GET /api/v1/authz/{name}.
func (s *Server) Handler() http.Handler { return s.mux }

// Names lists the resources being served.
func (s *Server) Names() []string {
	m := *s.guards.Load()
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// tokenInfo is a valid token, whichever way it was checked.
type tokenInfo struct {
	subject  string
	scopes   []string
	audience []string
	expires  time.Time // zero: none
	realm    string    // authd's own tokens: the realm of their relying party
	claims   map[string]any
}

// errInvalid is a token that is not good: the client gets 401.
type errInvalid struct{ reason string }

func (e errInvalid) Error() string { return e.reason }

func invalid(format string, args ...any) error { return errInvalid{fmt.Sprintf(format, args...)} }

// errUnavailable means the token could not be checked now (the JWKS or
// the introspection endpoint did not answer): 503, never 401, so a client
// does not throw a good token away.
var errUnavailable = errors.New("the token cannot be checked now")

func (s *Server) authz(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	g := (*s.guards.Load())[name]
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if g == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "error_description": "There is no protected resource of that name."})
		return
	}
	challenge := `Bearer realm="` + name + `"`
	token, sent := bearer(r)
	if token == "" {
		h.Set("WWW-Authenticate", challenge)
		desc := "No bearer token was sent."
		if sent {
			desc = "Use the Bearer authorization scheme."
		}
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_request", "error_description": desc})
		return
	}
	info, err := g.check(r.Context(), token)
	if err != nil {
		var inv errInvalid
		if errors.As(err, &inv) {
			s.opts.Log.Debug("token refused", "resource", name, "reason", inv.reason)
			h.Set("WWW-Authenticate", challenge+`, error="invalid_token", error_description="The access token is invalid, expired or revoked."`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "The access token is invalid, expired or revoked."})
			return
		}
		s.opts.Log.Warn("token could not be checked", "resource", name, "err", err)
		h.Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable", "error_description": "The token cannot be checked now; retry later."})
		return
	}
	for _, sc := range g.scopes {
		if !slices.Contains(info.scopes, sc) {
			h.Set("WWW-Authenticate", challenge+`, error="insufficient_scope", scope="`+strings.Join(g.scopes, " ")+`"`)
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "insufficient_scope", "error_description": "The access token lacks a scope this resource requires.", "scope": strings.Join(g.scopes, " ")})
			return
		}
	}
	h.Set(HeaderUser, headerValue(info.subject))
	h.Set(HeaderScopes, headerValue(strings.Join(info.scopes, " ")))
	for _, ch := range g.headers {
		if v, ok := claimText(info.claims[ch.claim]); ok {
			h.Set(ch.header, headerValue(v))
		}
	}
	w.WriteHeader(http.StatusOK)
}

// bearer returns the token of an Authorization: Bearer header; sent
// reports whether an Authorization header came at all.
func bearer(r *http.Request) (token string, sent bool) {
	a := r.Header.Get("Authorization")
	if a == "" {
		return "", false
	}
	scheme, rest, ok := strings.Cut(a, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", true
	}
	return strings.TrimSpace(rest), true
}

// claimText renders a claim for a header: strings as they are, numbers
// and booleans in JSON, lists of strings joined by commas, anything else
// as JSON. A missing or null claim sets no header.
func claimText(v any) (string, bool) {
	switch t := v.(type) {
	case nil:
		return "", false
	case string:
		return t, true
	case []any:
		parts := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				b, _ := json.Marshal(t)
				return string(b), true
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), true
	case []string:
		return strings.Join(t, ","), true
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// headerValue keeps a value from the token from breaking the header: no
// control characters, at most 4 KiB.
func headerValue(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 4096 {
		s = s[:4096]
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
