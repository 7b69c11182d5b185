package resource_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/authd/authd/protocols/resource"
)

// issuer is another OAuth server: its JWKS on an httptest server and the
// keys to sign its tokens.
type issuer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	keys    map[string]any // kid -> private key
	publish []string       // kids in the JWKS
	fetches atomic.Int32
	down    atomic.Bool
}

func newIssuer(t *testing.T) *issuer {
	is := &issuer{keys: map[string]any{}}
	is.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		is.fetches.Add(1)
		if is.down.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		is.mu.Lock()
		defer is.mu.Unlock()
		var set jose.JSONWebKeySet
		for _, kid := range is.publish {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: publicOf(is.keys[kid]), KeyID: kid, Use: "sig"})
		}
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(is.srv.Close)
	return is
}

func publicOf(k any) any {
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		return k.Public()
	case *rsa.PrivateKey:
		return k.Public()
	}
	return nil
}

// addKey makes a key; published says whether the JWKS lists it yet.
func (is *issuer) addKey(t *testing.T, kid string, rsaKey, published bool) {
	var k any
	var err error
	if rsaKey {
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	is.keys[kid] = k
	if published {
		is.publish = append(is.publish, kid)
	}
}

func (is *issuer) publishKey(kid string) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.publish = append(is.publish, kid)
}

// sign makes a compact JWS of claims with kid and typ.
func (is *issuer) sign(t *testing.T, kid, typ string, claims map[string]any) string {
	t.Helper()
	is.mu.Lock()
	k := is.keys[kid]
	is.mu.Unlock()
	alg := jose.ES256
	if _, ok := k.(*rsa.PrivateKey); ok {
		alg = jose.RS256
	}
	opts := (&jose.SignerOptions{}).WithHeader("kid", kid)
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: k}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	obj, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

const otherIssuer = "https://idp.example.com"

func claims(mut func(map[string]any)) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss": otherIssuer, "sub": "alice@idp", "aud": []string{"orders-api"},
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "scope": "orders:read profile",
		"email": "alice@example.com", "groups": []string{"staff", "admins"},
	}
	if mut != nil {
		mut(c)
	}
	return c
}

func TestJWKSURLOfAnotherIssuer(t *testing.T) {
	is := newIssuer(t)
	is.addKey(t, "ec1", false, true)
	is.addKey(t, "rsa1", true, true)
	is.addKey(t, "unpublished", false, false)
	var offset atomic.Int64
	cfg := load(t, `
realm "corp" {}
protected_resource "orders" {
  realm           = realm.corp
  required_scopes = ["orders:read"]
  jwks_url        = "`+is.srv.URL+`/jwks"
  issuer          = "`+otherIssuer+`"
  audience        = ["orders-api"]
  header "X-Email" {
    claim = "email"
  }
  header "X-Groups" {
    claim = "groups"
  }
}
`)
	rs := resource.New(resource.Options{Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	if err := rs.Load(cfg); err != nil {
		t.Fatal(err)
	}
	ask := func(tok string) *http.Response {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/api/v1/authz/orders", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rs.Handler().ServeHTTP(rec, req)
		return rec.Result()
	}
	good := is.sign(t, "ec1", "at+jwt", claims(nil))
	_, payload, _ := strings.Cut(good, ".")
	noneHdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"ec1"}`))
	hsHdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"ec1"}`))
	payload = payload[:strings.IndexByte(payload, '.')]
	refused := want{status: 401, challenge: `Bearer realm="orders"` + invalidToken}

	for _, tc := range []struct {
		name  string
		token string
		want  want
	}{
		{"ES256, at+jwt", good, want{status: 200, headers: map[string]string{
			"X-Authd-User": "alice@idp", "X-Authd-Scopes": "orders:read profile", "X-Email": "alice@example.com", "X-Groups": "staff,admins"}}},
		{"RS256, typ JWT", is.sign(t, "rsa1", "JWT", claims(nil)), want{status: 200}},
		{"no typ", is.sign(t, "ec1", "", claims(nil)), want{status: 200}},
		{"scp list instead of scope", is.sign(t, "ec1", "at+jwt", claims(func(c map[string]any) { delete(c, "scope"); c["scp"] = []string{"orders:read"} })), want{status: 200}},
		{"aud as a string", is.sign(t, "ec1", "at+jwt", claims(func(c map[string]any) { c["aud"] = "orders-api" })), want{status: 200}},
		{"another typ", is.sign(t, "ec1", "logout+jwt", claims(nil)), refused},
		{"wrong issuer", is.sign(t, "ec1", "at+jwt", claims(func(c map[string]any) { c["iss"] = "https://evil.example.com" })), refused},
		{"expired", is.sign(t, "ec1", "at+jwt", claims(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Second).Unix() })), refused},
		{"no exp", is.sign(t, "ec1", "at+jwt", claims(func(c map[string]any) { delete(c, "exp") })), refused},
		{"not valid yet", is.sign(t, "ec1", "at+jwt", claims(func(c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() })), refused},
		{"nbf within the leeway", is.sign(t, "ec1", "at+jwt", claims(func(c map[string]any) { c["nbf"] = time.Now().Add(30 * time.Second).Unix() })), want{status: 200}},
		{"other audience", is.sign(t, "ec1", "at+jwt", claims(func(c map[string]any) { c["aud"] = []string{"billing-api"} })), refused},
		{"no audience", is.sign(t, "ec1", "at+jwt", claims(func(c map[string]any) { delete(c, "aud") })), refused},
		{"scope missing", is.sign(t, "ec1", "at+jwt", claims(func(c map[string]any) { c["scope"] = "profile" })),
			want{status: 403, challenge: `Bearer realm="orders", error="insufficient_scope", scope="orders:read"`}},
		{"key not in the JWKS", is.sign(t, "unpublished", "at+jwt", claims(nil)), refused},
		{"alg none", noneHdr + "." + payload + ".", refused},
		{"alg HS256", hsHdr + "." + payload + ".c2ln", refused},
		{"not a JWT", "opaque-token", refused},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.want.check(t, ask(tc.token)) })
	}

	t.Run("new key fetched on an unknown kid, at most every 10s", func(t *testing.T) {
		is.addKey(t, "ec2", false, false)
		tok := is.sign(t, "ec2", "at+jwt", claims(nil))
		offset.Add(int64(11 * time.Second)) // past the refresh limit of earlier fetches
		before := is.fetches.Load()
		refused.check(t, ask(tok)) // fetched again: not published yet
		if is.fetches.Load() != before+1 {
			t.Fatalf("fetches %d, want %d", is.fetches.Load(), before+1)
		}
		is.publishKey("ec2")
		refused.check(t, ask(tok)) // within 10s: no new fetch
		if is.fetches.Load() != before+1 {
			t.Fatalf("fetched again within the limit: %d", is.fetches.Load())
		}
		offset.Add(int64(11 * time.Second))
		want{status: 200}.check(t, ask(tok))
		if is.fetches.Load() != before+2 {
			t.Fatalf("fetches %d, want %d", is.fetches.Load(), before+2)
		}
	})
	t.Run("a failed fetch keeps the known keys", func(t *testing.T) {
		is.down.Store(true)
		defer is.down.Store(false)
		offset.Add(int64(2 * time.Hour)) // the key set is stale; tokens signed now still valid
		defer offset.Add(-int64(2 * time.Hour))
		tok := is.sign(t, "ec1", "at+jwt", claims(func(c map[string]any) { c["exp"] = time.Now().Add(3 * time.Hour).Unix() }))
		want{status: 200}.check(t, ask(tok))
	})
}

// TestJWKSUnreachable: without any key set the answer is 503.
func TestJWKSUnreachable(t *testing.T) {
	is := newIssuer(t)
	is.addKey(t, "ec1", false, true)
	is.down.Store(true)
	cfg := load(t, `
realm "corp" {}
protected_resource "orders" {
  realm           = realm.corp
  required_scopes = ["orders:read"]
  jwks_url        = "`+is.srv.URL+`/jwks"
  issuer          = "`+otherIssuer+`"
}
`)
	rs := resource.New(resource.Options{})
	if err := rs.Load(cfg); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/api/v1/authz/orders", nil)
	req.Header.Set("Authorization", "Bearer "+is.sign(t, "ec1", "at+jwt", claims(nil)))
	rs.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", rec.Code)
	}
}
