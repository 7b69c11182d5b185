package federation

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/store"
)

// CallbackPath is where upstream providers send the browser back; register
// PUBLIC_URL + CallbackPath as the redirect URI at the provider.
const CallbackPath = "/oauth2/federation/callback"

// StateTTL bounds how long a started upstream login (its state) and its
// result wait: long enough for a user to sign in upstream, short enough
// that a leaked state is soon worthless.
const StateTTL = 10 * time.Minute

// bucket holds states ("s\x00" + sha256(state)) and results
// ("r\x00" + session + "\x00" + provider).
const bucket = "federation"

// Provider is one identity_provider as the service uses it.
type Provider struct {
	Name         string
	Issuer       string
	ClientID     string
	ClientSecret string // empty for a public client (PKCE alone)
	Scopes       []string
	PKCE         bool
	// AssumeEmailVerified: an email without an email_verified claim is
	// reported verified (see dsl.IdentityProvider).
	AssumeEmailVerified bool
}

// FromDSL returns the identity providers of a configuration.
func FromDSL(cfg *dsl.Config) []Provider {
	var out []Provider
	for _, p := range cfg.IdentityProviders {
		out = append(out, Provider{
			Name: p.Name, Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret.Value(),
			Scopes: slices.Clone(p.Scopes), PKCE: p.PKCE, AssumeEmailVerified: p.AssumeEmailVerified,
		})
	}
	slices.SortFunc(out, func(a, b Provider) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Options configure a Service.
type Options struct {
	KV store.KV
	// PublicURL is authd's address as browsers reach it; the redirect URI
	// is PublicURL + CallbackPath. It can be set later (SetPublicURL),
	// when it is only known once the listener is bound.
	PublicURL string
	// HTTPClient talks to the providers (discovery, token, JWKS,
	// userinfo). Default: a client with a 15 s timeout.
	HTTPClient *http.Client
	Log        *slog.Logger
}

// Service is the upstream OpenID Connect client; it implements
// engine.FederationService.
type Service struct {
	kv     store.KV
	client *http.Client
	log    *slog.Logger

	mu        sync.Mutex
	publicURL string
	providers map[string]Provider
	// resolved caches discovery per provider; an entry is dropped when its
	// provider's settings change on reload.
	resolved map[string]*upstream
}

// upstream is a discovered provider.
type upstream struct {
	conf     Provider
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	oauth    *oauth2.Config
}

// New returns a service without providers (see Load).
func New(o Options) *Service {
	c := o.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: 15 * time.Second}
	}
	l := o.Log
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &Service{kv: o.KV, client: c, log: l, publicURL: strings.TrimSuffix(o.PublicURL, "/"),
		providers: map[string]Provider{}, resolved: map[string]*upstream{}}
}

// SetPublicURL sets authd's public address (the redirect URI's base).
func (s *Service) SetPublicURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publicURL = strings.TrimSuffix(u, "/")
	s.resolved = map[string]*upstream{}
}

// Load swaps the providers in one step (start and reload). A login begun
// before keeps its state and is completed with the new settings.
func (s *Service) Load(ps []Provider) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := make(map[string]Provider, len(ps))
	for _, p := range ps {
		next[p.Name] = p
	}
	for name, u := range s.resolved {
		if p, ok := next[name]; !ok || !sameProvider(p, u.conf) {
			delete(s.resolved, name)
		}
	}
	s.providers = next
}

// Reload is Load from a configuration, for the server's reload.
func (s *Service) Reload(cfg *dsl.Config) error {
	s.Load(FromDSL(cfg))
	return nil
}

func sameProvider(a, b Provider) bool {
	return a.Issuer == b.Issuer && a.ClientID == b.ClientID && a.ClientSecret == b.ClientSecret &&
		a.PKCE == b.PKCE && slices.Equal(a.Scopes, b.Scopes) && a.AssumeEmailVerified == b.AssumeEmailVerified
}

// upstream returns the discovered provider, discovering it on first use.
// Discovery runs outside the lock; two first logins may both discover, and
// the later result wins, which is harmless.
func (s *Service) upstream(name string) (*upstream, error) {
	s.mu.Lock()
	if u := s.resolved[name]; u != nil {
		s.mu.Unlock()
		return u, nil
	}
	p, ok := s.providers[name]
	base := s.publicURL
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("federation: no identity_provider %q is configured", name)
	}
	if base == "" {
		return nil, errors.New("federation: authd's public URL is not known, so there is no redirect URI to send")
	}
	// The context lives as long as the provider: go-oidc fetches the JWKS
	// with it later. Each request is bounded by the client's timeout.
	ctx := oidc.ClientContext(context.Background(), s.client)
	op, err := oidc.NewProvider(ctx, p.Issuer)
	if err != nil {
		// The provider is down or misconfigured: a failed login the
		// journey can route around, not a fault of authd.
		s.log.Warn("identity provider discovery failed", "provider", name, "issuer", p.Issuer, "err", err)
		return nil, &engine.FederationError{Reason: fmt.Sprintf("discovery of identity_provider %q failed", name)}
	}
	if p.PKCE {
		var meta struct {
			Methods []string `json:"code_challenge_methods_supported"`
		}
		if err := op.Claims(&meta); err == nil && len(meta.Methods) > 0 && !slices.Contains(meta.Methods, "S256") {
			return nil, fmt.Errorf("federation: identity_provider %q has pkce = true but the provider does not support S256 (it lists %v)", name, meta.Methods)
		}
	}
	u := &upstream{
		conf:     p,
		provider: op,
		verifier: op.Verifier(&oidc.Config{ClientID: p.ClientID}),
		oauth: &oauth2.Config{
			ClientID: p.ClientID, ClientSecret: p.ClientSecret,
			Endpoint:    op.Endpoint(),
			RedirectURL: base + CallbackPath,
			Scopes:      slices.Clone(p.Scopes),
		},
	}
	s.mu.Lock()
	if cur, ok := s.providers[name]; ok && sameProvider(cur, p) {
		s.resolved[name] = u
	}
	s.mu.Unlock()
	return u, nil
}

// stateRecord is a started upstream login, kept under the hash of its
// state.
type stateRecord struct {
	Provider string    `json:"provider"`
	Realm    string    `json:"realm"`
	Session  string    `json:"session"`
	Protocol string    `json:"protocol"`
	Nonce    string    `json:"nonce"`
	Verifier string    `json:"verifier,omitempty"`
	Expires  time.Time `json:"expires"`
}

// result is what an upstream login came back with.
type result struct {
	Identity *engine.FederatedIdentity `json:"identity,omitempty"`
	Error    string                    `json:"error,omitempty"`
	Expires  time.Time                 `json:"expires"`
}

func stateKey(state string) []byte {
	h := sha256.Sum256([]byte(state))
	return append([]byte("s\x00"), h[:]...)
}

func resultKey(session, provider string) []byte {
	return []byte("r\x00" + session + "\x00" + provider)
}

// random returns 256 bits from crypto/rand, URL-safe.
func random() (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		return "", fmt.Errorf("federation: no randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// BeginFederation implements engine.FederationService. A provider whose
// discovery fails is an *engine.FederationError (the node's failure
// outcome, so a journey can fall back); a provider that is not configured
// or a store error is a fault.
func (s *Service) BeginFederation(_ context.Context, r *engine.FederationRequest) (string, error) {
	u, err := s.upstream(r.Provider)
	if err != nil {
		return "", err
	}
	state, err := random()
	if err != nil {
		return "", err
	}
	nonce, err := random()
	if err != nil {
		return "", err
	}
	rec := stateRecord{Provider: r.Provider, Realm: r.Realm, Session: r.SessionID, Protocol: r.Protocol,
		Nonce: nonce, Expires: r.Now.Add(StateTTL)}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce)}
	if u.conf.PKCE {
		rec.Verifier = oauth2.GenerateVerifier()
		opts = append(opts, oauth2.S256ChallengeOption(rec.Verifier))
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return "", err
	}
	if err := s.kv.Update(func(tx store.Tx) error { return tx.Put(bucket, stateKey(state), b) }); err != nil {
		return "", fmt.Errorf("federation: storing the login state: %w", err)
	}
	return u.oauth.AuthCodeURL(state, opts...), nil
}

// FederationResult implements engine.FederationService.
func (s *Service) FederationResult(_ context.Context, provider, sessionID string, now time.Time) (*engine.FederatedIdentity, error) {
	var res *result
	err := s.kv.Update(func(tx store.Tx) error {
		k := resultKey(sessionID, provider)
		v := tx.Get(bucket, k)
		if v == nil {
			return nil
		}
		res = new(result)
		if err := json.Unmarshal(v, res); err != nil {
			return fmt.Errorf("federation: a stored result is damaged: %w", err)
		}
		return tx.Delete(bucket, k)
	})
	switch {
	case err != nil:
		return nil, err
	case res == nil || !now.Before(res.Expires):
		return nil, engine.ErrFederationPending
	case res.Error != "":
		return nil, &engine.FederationError{Reason: res.Error}
	case res.Identity == nil:
		return nil, &engine.FederationError{Reason: "no identity in the result"}
	}
	return res.Identity, nil
}

// Sweep deletes the states and results that expired before now.
func (s *Service) Sweep(now time.Time) error {
	var stale [][]byte
	err := s.kv.View(func(tx store.Tx) error {
		return tx.ForEach(bucket, nil, func(k, v []byte) error {
			var e struct {
				Expires time.Time `json:"expires"`
			}
			if json.Unmarshal(v, &e) != nil || !now.Before(e.Expires) {
				stale = append(stale, slices.Clone(k))
			}
			return nil
		})
	})
	if err != nil || len(stale) == 0 {
		return err
	}
	return s.kv.Update(func(tx store.Tx) error {
		for _, k := range stale {
			if err := tx.Delete(bucket, k); err != nil {
				return err
			}
		}
		return nil
	})
}

// RunSweeper sweeps every interval until ctx ends.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if err := s.Sweep(now.UTC()); err != nil {
				s.log.Error("sweeping federation states", "err", err)
			}
		}
	}
}

var _ engine.FederationService = (*Service)(nil)
