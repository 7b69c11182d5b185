package resource_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/protocols/resource"
)

const externalResources = `
protected_resource "interval" {
  realm             = realm.corp
  token_validation  = "external"
  required_scopes   = ["orders:read"]
  validate_interval = "10s"
}

protected_resource "transaction" {
  realm              = realm.corp
  token_validation   = "external"
  required_scopes    = ["orders:read"]
  validate_frequency = "transaction"
}

protected_resource "session" {
  realm              = realm.corp
  token_validation   = "external"
  required_scopes    = ["orders:read"]
  validate_frequency = "session"
}

protected_resource "remote" {
  realm             = realm.corp
  token_validation  = "external"
  required_scopes   = ["orders:read"]
  introspection_url = "%[1]s/oauth2/introspect"
  client_id         = "gateway"
  client_secret     = env("GATEWAY_SECRET")
  validate_interval = "10s"
  header "X-Client" {
    claim = "client_id"
  }
}

protected_resource "remote_bad_secret" {
  realm             = realm.corp
  token_validation  = "external"
  required_scopes   = ["orders:read"]
  introspection_url = "%[1]s/oauth2/introspect"
  client_id         = "gateway"
  client_secret     = env("SERVICE_SECRET")
}

protected_resource "writes" {
  realm            = realm.corp
  token_validation = "external"
  required_scopes  = ["orders:write"]
}
`

// TestExternalCaching: a revoked token is refused by "transaction" at
// once, by "interval" when its cached answer runs out, by "session" only
// when the token expires.
func TestExternalCaching(t *testing.T) {
	for _, tc := range []struct {
		resource string
		client   string
		// still200 is how far the clock may go after revocation with the
		// cached answer still let in; refusedAt when it is refused.
		still200, refusedAt time.Duration
	}{
		{"transaction", "opaque", -1, 0},
		{"interval", "opaque", 9 * time.Second, 11 * time.Second},
		{"interval", "service", 9 * time.Second, 11 * time.Second},
		{"remote", "opaque", 9 * time.Second, 11 * time.Second},
		{"remote", "service", 9 * time.Second, 11 * time.Second},
		{"session", "opaque", 59 * time.Minute, time.Hour + time.Second},
	} {
		t.Run(tc.resource+"/"+tc.client, func(t *testing.T) {
			fx := start(t, externalResources)
			tok := fx.token(tc.client, "orders:read")
			want{status: 200, headers: map[string]string{"X-Authd-User": tc.client, "X-Authd-Scopes": "orders:read"}}.check(t, fx.authz(tc.resource, "Bearer "+tok))
			fx.revoke(tc.client, tok)
			if tc.still200 >= 0 {
				fx.advance(tc.still200)
				want{status: 200}.check(t, fx.authz(tc.resource, "Bearer "+tok))
				fx.advance(tc.refusedAt - tc.still200)
			}
			want{status: 401, challenge: `Bearer realm="` + tc.resource + `"` + invalidToken}.check(t, fx.authz(tc.resource, "Bearer "+tok))
		})
	}
}

func TestExternal(t *testing.T) {
	fx := start(t, externalResources)
	jwt := fx.token("service", "orders:read")
	lab := fx.token("lab_service", "orders:read")
	for _, tc := range []struct {
		name, resource, auth string
		want                 want
	}{
		{"no token", "interval", "", want{status: 401, challenge: `Bearer realm="interval"`}},
		{"unknown token", "interval", "Bearer authd_at_nothing.nothing", want{status: 401, challenge: `Bearer realm="interval"` + invalidToken}},
		{"unknown token, remote", "remote", "Bearer authd_at_nothing.nothing", want{status: 401, challenge: `Bearer realm="remote"` + invalidToken}},
		{"claim header from the introspection answer", "remote", "Bearer " + jwt, want{status: 200, headers: map[string]string{"X-Client": "service", "X-Authd-User": "service"}}},
		{"scope missing", "writes", "Bearer " + jwt, want{status: 403, challenge: `Bearer realm="writes", error="insufficient_scope", scope="orders:write"`}},
		{"token of another realm", "interval", "Bearer " + lab, want{status: 401, challenge: `Bearer realm="interval"` + invalidToken}},
		{"introspection refuses the gateway's secret", "remote_bad_secret", "Bearer " + jwt, want{status: 503}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.want.check(t, fx.authz(tc.resource, tc.auth)) })
	}
}

// TestIntrospectionDown: no answer from the introspection endpoint is 503,
// not 401: the token may well be good.
func TestIntrospectionDown(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL
	down.Close()
	cfg := load(t, `
realm "corp" {}
protected_resource "api" {
  realm             = realm.corp
  token_validation  = "external"
  required_scopes   = ["a"]
  introspection_url = "`+url+`/introspect"
  client_id         = "api"
  client_secret     = env("GATEWAY_SECRET")
}
`)
	rs := resource.New(resource.Options{})
	if err := rs.Load(cfg); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/api/v1/authz/api", nil)
	req.Header.Set("Authorization", "Bearer abc")
	rs.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
}

// TestLoadRefusesOwnTokensWithoutIssuer: resources of authd's own tokens
// need a provider; Load keeps the old resources when it refuses.
func TestLoadRefusesOwnTokensWithoutIssuer(t *testing.T) {
	for _, mode := range []string{"internal", "external"} {
		t.Run(mode, func(t *testing.T) {
			cfg := load(t, `
realm "corp" {}
relying_party "x" {
  realm         = realm.corp
  client_secret = env("SERVICE_SECRET")
  grant_types   = ["client_credentials"]
}
protected_resource "api" {
  realm            = realm.corp
  token_validation = "`+mode+`"
  required_scopes  = ["a"]
}
`)
			rs := resource.New(resource.Options{}) // no Local
			if err := rs.Load(cfg); err == nil {
				t.Fatal("Load accepted a resource of authd's tokens without a provider")
			}
			if len(rs.Names()) != 0 {
				t.Fatalf("names after a refused load: %v", rs.Names())
			}
		})
	}
}

// blockingIntrospection is an introspection endpoint that holds every
// call until released, counting calls and the most in flight at once.
type blockingIntrospection struct {
	release chan struct{}
	mu      sync.Mutex
	calls   int
	now     int
	max     int
}

func (b *blockingIntrospection) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.calls++
	b.now++
	b.max = max(b.max, b.now)
	b.mu.Unlock()
	<-b.release
	b.mu.Lock()
	b.now--
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"active":true,"sub":"alice","scope":"a"}`))
}

func (b *blockingIntrospection) stats() (calls, now, max int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls, b.now, b.max
}

// waitInFlight polls until n calls are held.
func (b *blockingIntrospection) waitInFlight(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, now, _ := b.stats(); now >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	calls, now, _ := b.stats()
	t.Fatalf("%d calls in flight (of %d), want %d", now, calls, n)
}

// remoteResource serves one external resource introspecting at url.
func remoteResource(t *testing.T, url, frequency string) http.Handler {
	t.Helper()
	cfg := load(t, `
realm "corp" {}
protected_resource "api" {
  realm              = realm.corp
  token_validation   = "external"
  required_scopes    = ["a"]
  introspection_url  = "`+url+`"
  client_id          = "api"
  client_secret      = env("GATEWAY_SECRET")
  validate_frequency = "`+frequency+`"
}
`)
	rs := resource.New(resource.Options{})
	if err := rs.Load(cfg); err != nil {
		t.Fatal(err)
	}
	return rs.Handler()
}

// checkAll sends one check per token at once and returns the statuses.
func checkAll(h http.Handler, tokens []string) []int {
	out := make([]int, len(tokens))
	var wg sync.WaitGroup
	for i, tok := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/api/v1/authz/api", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			h.ServeHTTP(rec, req)
			out[i] = rec.Code
		}()
	}
	wg.Wait()
	return out
}

// TestRemoteIntrospectionBounded: a burst of new tokens (the checks are
// not rate limited) keeps at most 32 calls in flight to the introspection
// server; the rest wait and are answered.
func TestRemoteIntrospectionBounded(t *testing.T) {
	b := &blockingIntrospection{release: make(chan struct{})}
	srv := httptest.NewServer(b)
	defer srv.Close()
	h := remoteResource(t, srv.URL, "transaction")
	tokens := make([]string, 100)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("token-%d", i)
	}
	done := make(chan []int)
	go func() { done <- checkAll(h, tokens) }()
	b.waitInFlight(t, 32)
	close(b.release)
	for i, code := range <-done {
		if code != http.StatusOK {
			t.Errorf("token %d: %d", i, code)
		}
	}
	if calls, _, most := b.stats(); most > 32 || calls != len(tokens) {
		t.Errorf("%d calls, at most %d at once; want %d, at most 32", calls, most, len(tokens))
	}
}

// TestConcurrentChecksShareOneIntrospection: with a cache, checks of one
// token that arrive together cost one introspection.
func TestConcurrentChecksShareOneIntrospection(t *testing.T) {
	for _, freq := range []string{"interval", "session"} {
		t.Run(freq, func(t *testing.T) {
			b := &blockingIntrospection{release: make(chan struct{})}
			srv := httptest.NewServer(b)
			defer srv.Close()
			h := remoteResource(t, srv.URL, freq)
			tokens := make([]string, 50)
			for i := range tokens {
				tokens[i] = "the-same-token"
			}
			done := make(chan []int)
			go func() { done <- checkAll(h, tokens) }()
			b.waitInFlight(t, 1)
			close(b.release)
			for i, code := range <-done {
				if code != http.StatusOK {
					t.Errorf("check %d: %d", i, code)
				}
			}
			if calls, _, _ := b.stats(); calls != 1 {
				t.Errorf("%d introspections for one token, want 1", calls)
			}
		})
	}
}
