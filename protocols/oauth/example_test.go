package oauth_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/engine/users"
	_ "github.com/authd/authd/nodes"
	"github.com/authd/authd/protocols/oauth"
	"github.com/authd/authd/protocols/oauth/internal/oauthtest"
	"github.com/authd/authd/protocols/push"
	"github.com/authd/authd/protocols/push/authenticator"
)

// The example's secrets (examples/oidc/README.md).
const (
	exampleWebSecret     = "webapp-demo-secret-change-me-0123456789"
	exampleReportsSecret = "reports-demo-secret-change-me-0123456789"
	exampleOrdersSecret  = "orders-api-demo-secret-change-me-0123456"
	exampleWebCallback   = "http://127.0.0.1:8080/callback"
	exampleSPACallback   = "http://127.0.0.1:5173/callback"
	exampleAlicePassword = "alice-example-password"
)

// exampleServer serves examples/oidc as `authd run` does (bbolt store,
// the real push service with the poll provider, the OAuth provider) on a
// loopback port, with alice in realm corp.
type exampleServer struct {
	fx   *oauthtest.Fixture // URL and KV, for the shared helpers
	auth *authenticator.Client
}

func startExample(t *testing.T) *exampleServer {
	t.Helper()
	env := map[string]string{"WEBAPP_SECRET": exampleWebSecret}
	cfg, diags := dsl.Load([]string{filepath.Join("..", "..", "examples", "oidc")}, dsl.Options{
		Strict: true, RequireEnv: true,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	if diags.HasErrors() {
		t.Fatalf("examples/oidc: %v", diags)
	}
	kv, err := boltstore.Open(filepath.Join(t.TempDir(), "authd.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	repo := users.NewRepo(kv)
	eng := engine.New(engine.Options{KV: kv, Users: repo, Log: log})
	eng.Load(cfg.Program)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	// The issuer is where this test serves, not the example's port 9000.
	cfg.Server.HTTP.PublicURL = srv.URL
	svc, err := push.New(eng, kv, cfg, log, push.WithPublicURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	p, err := oauth.New(eng, kv, repo, oauth.FromDSL(cfg), log)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/api/v1/push/", svc.Handler())
	mux.Handle("/", p.Handler())
	// A cheap bcrypt hash keeps the login fast under -race.
	hash, _ := bcrypt.GenerateFromPassword([]byte(exampleAlicePassword), bcrypt.MinCost)
	now := time.Now()
	if err := repo.Create(&users.User{Realm: "corp", Name: "alice", Email: "alice@example.com", Groups: []string{"staff"}, PasswordHash: string(hash), Created: now, Updated: now}); err != nil {
		t.Fatal(err)
	}
	return &exampleServer{
		fx:   &oauthtest.Fixture{URL: srv.URL, Callback: exampleWebCallback, KV: kv, Engine: eng, Users: repo, Provider: p},
		auth: &authenticator.Client{HTTP: srv.Client()},
	}
}

var (
	reQRURI  = regexp.MustCompile(`<code>([^<]+)</code>`)
	reNumber = regexp.MustCompile(`<p class="number"[^>]*><strong>(\d+)</strong>`)
	reMeta   = regexp.MustCompile(`<meta http-equiv="refresh" content="1;url=([^"]+)">`)
)

// TestExampleOIDC serves examples/oidc and runs each of its clients: the
// web app's code + PKCE login through the pages, enrolling a device from
// the QR page and approving the push with the number the wait page shows
// (the software authenticator over the poll device protocol); the SPA's
// password login; the service's client credentials; introspection by the
// resource server the web app names; logout to a post-logout redirect URI.
func TestExampleOIDC(t *testing.T) {
	ex := startExample(t)
	fx := ex.fx
	b := newBrowser(t, fx)
	verifier, challenge := pkcePair()
	q := url.Values{
		"client_id": {"webapp"}, "response_type": {"code"}, "redirect_uri": {exampleWebCallback},
		"scope": {"openid profile email groups"}, "state": {"state-0123456789"}, "nonce": {"nonce-0123456789"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}
	r := b.get("/oauth2/authorize?" + q.Encode())
	page := b.get(r.location)
	r = b.submit(page, map[string]string{"cb_username": "alice", "cb_password": exampleAlicePassword})

	// alice has no device: the QR page, and the URI under the code enrols one.
	qr := b.get(r.location)
	m := reQRURI.FindStringSubmatch(qr.body)
	if m == nil || !strings.Contains(qr.body, `<img src=`) {
		t.Fatalf("no enrolment QR code:\n%s", qr.body)
	}
	acct, err := ex.auth.Enroll(context.Background(), html(m[1]), authenticator.EnrollOptions{})
	if err != nil {
		t.Fatalf("enrol: %v", err)
	}
	r = b.submit(qr, nil)

	// The registration's wait page refreshes until the enrolment is seen,
	// then the push goes out and the wait page shows the number.
	var wait *response
	var num, meta []string
	for i := 0; ; i++ {
		wait = b.get(r.location)
		num = reNumber.FindStringSubmatch(wait.body)
		meta = reMeta.FindStringSubmatch(wait.body)
		if meta == nil {
			t.Fatalf("a wait page without its refresh:\n%s", wait.body)
		}
		if num != nil {
			break
		}
		if i == 5 {
			t.Fatalf("no push wait page after enrolment:\n%s", wait.body)
		}
		r = b.get(html(meta[1]))
	}
	shown, _ := strconv.Atoi(num[1])
	pending, err := ex.auth.Pending(context.Background(), acct, 0)
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending pushes: %v %+v", err, pending)
	}
	if pending[0].Type != "challenge" || len(pending[0].Numbers) < 2 {
		t.Fatalf("push %+v, want number matching", pending[0])
	}
	if _, err := ex.auth.Respond(context.Background(), acct, pending[0], authenticator.Answer{Approve: true, Number: shown}); err != nil {
		t.Fatalf("approve with %d: %v", shown, err)
	}
	done := b.get(html(meta[1]))
	u, err := url.Parse(done.location)
	if err != nil {
		t.Fatal(err)
	}
	code := codeFrom(t, fx, u)
	tok := tokenReq(t, fx, "webapp", exampleWebSecret, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "redirect_uri": {exampleWebCallback},
	}).ok(t)
	id := claimsOf(t, tok.IDToken)
	mustEqual(t, "sub", id["sub"], any("alice"))
	mustEqual(t, "acr", id["acr"], any("push"))
	mustEqual(t, "nonce", id["nonce"], any("nonce-0123456789"))
	st, info := jsonReq(t, http.MethodGet, fx.URL+"/oauth2/userinfo", "", "", nil, map[string]string{"Authorization": "Bearer " + tok.AccessToken})
	if st != http.StatusOK || info["email"] != "alice@example.com" {
		t.Fatalf("userinfo: %d %v", st, info)
	}
	if g, _ := info["groups"].([]any); len(g) != 1 || g[0] != "staff" {
		t.Errorf("groups claim %v", info["groups"])
	}

	t.Run("introspection by the named resource server", func(t *testing.T) {
		mustEqual(t, "orders_api sees it", introspect(t, fx, "orders_api", exampleOrdersSecret, tok.AccessToken)["active"], any(true))
		mustEqual(t, "reports does not", introspect(t, fx, "reports", exampleReportsSecret, tok.AccessToken)["active"], any(false))
	})

	t.Run("service: client credentials with the hashed secret", func(t *testing.T) {
		for range 2 { // the second grant uses the cached HMAC of the secret
			cc := tokenReq(t, fx, "reports", exampleReportsSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"orders:read"}}).ok(t)
			mustEqual(t, "JWT access token", strings.Count(cc.AccessToken, "."), 2)
			mustEqual(t, "scope", cc.Scope, "orders:read")
		}
		tokenReq(t, fx, "reports", "not-the-secret", url.Values{"grant_type": {"client_credentials"}}).fails(t, http.StatusUnauthorized, "invalid_client")
	})

	t.Run("spa: public, PKCE, its own journey", func(t *testing.T) {
		sb := newBrowser(t, &oauthtest.Fixture{URL: fx.URL, Callback: exampleSPACallback})
		v, c := pkcePair()
		q := url.Values{
			"client_id": {"spa"}, "response_type": {"code"}, "redirect_uri": {exampleSPACallback},
			"scope": {"openid profile email"}, "state": {"state-0123456789"},
			"code_challenge": {c}, "code_challenge_method": {"S256"},
		}
		u := sb.login("/oauth2/authorize?"+q.Encode(), answers{{"username": "alice", "password": exampleAlicePassword}})
		code := codeFrom(t, sb.fx, u)
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {v}, "redirect_uri": {exampleSPACallback}, "client_id": {"spa"}}
		spa := tokenReq(t, fx, "spa", "", form).ok(t)
		mustEqual(t, "acr", claimsOf(t, spa.IDToken)["acr"], any("password"))
		mustEqual(t, "JWT access token", claimsOf(t, spa.AccessToken)["client_id"], any("spa"))
		// Without PKCE a public client is refused.
		q.Del("code_challenge")
		q.Del("code_challenge_method")
		nop := sb.get("/oauth2/authorize?" + q.Encode())
		if u, _ := url.Parse(nop.location); u == nil || u.Query().Get("error") == "" {
			t.Fatalf("public client without PKCE: %d %q", nop.status, nop.location)
		}
	})

	t.Run("logout to a post-logout redirect URI only", func(t *testing.T) {
		bad := b.get("/oauth2/logout?" + url.Values{"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {exampleWebCallback}}.Encode())
		mustEqual(t, "a redirect URI is not a post-logout URI", bad.status, http.StatusBadRequest)
		r := b.get("/oauth2/logout?" + url.Values{"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {"http://127.0.0.1:8080/"}, "state": {"s1"}}.Encode())
		mustEqual(t, "logout redirect", r.location, "http://127.0.0.1:8080/?state=s1")
	})
}
