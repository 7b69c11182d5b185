package federation_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/engine/users"
	"github.com/authd/authd/nodes"
	"github.com/authd/authd/protocols/api"
	"github.com/authd/authd/protocols/federation"
	"github.com/authd/authd/protocols/oauth"
	"github.com/authd/authd/protocols/push"
	"github.com/authd/authd/protocols/push/authenticator"
)

const (
	downSecret = "downstream-secret-0123456789abcdef0123"
	password   = "upstream-password-1"
	appPath    = "/app/callback"
)

// upstreamHCL is the upstream provider: a second authd whose relying party
// "downstream" is the authd under test. %[1]s is its issuer, %[2]s the
// downstream's.
const upstreamHCL = `
server {
  http {
    listen     = "127.0.0.1:0"
    public_url = "%[1]s"
  }
}
realm "corp" {}
journey "password" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = success, failure = failure, locked = failure }
  }
}
relying_party "downstream" {
  realm         = realm.corp
  journey       = journey.password
  client_type   = "confidential"
  client_id     = "downstream"
  client_secret = env("DOWN_SECRET")
  grant_types   = ["authorization_code"]
  pkce          = "required"
  redirect_uris = ["%[2]s/oauth2/federation/callback"]
  scopes        = ["openid", "profile", "email"]
}
`

// downstreamHCL federates to the upstream: one relying party per way of
// mapping, one whose journey goes on to a push, and one whose provider
// (the same upstream) assumes emails without email_verified are verified.
// %[1]s is its issuer, %[2]s the upstream's.
const downstreamHCL = `
server {
  http {
    listen     = "127.0.0.1:0"
    public_url = "%[1]s"
  }
}
realm "corp" {
  push_providers = [push_provider.poll]
}
push_provider "poll" "poll" {}
identity_provider "oidc" "up" {
  issuer        = "%[2]s"
  client_id     = "downstream"
  client_secret = env("DOWN_SECRET")
  scopes        = ["openid", "email", "profile"]
  pkce          = true
}
identity_provider "oidc" "trusting" {
  issuer                = "%[2]s"
  client_id             = "downstream"
  client_secret         = env("DOWN_SECRET")
  scopes                = ["openid", "email", "profile"]
  assume_email_verified = true
}
journey "email" {
  realm = realm.corp
  start = node.fed
  node "federated_login" "fed" {
    provider = identity_provider.up
    outcomes = { success = success, failure = failure, no_account = failure }
  }
}
journey "sub" {
  realm = realm.corp
  start = node.fed
  node "federated_login" "fed" {
    provider = identity_provider.up
    match_on = "sub"
    outcomes = { success = success, failure = failure, no_account = failure }
  }
}
journey "create" {
  realm = realm.corp
  start = node.fed
  node "federated_login" "fed" {
    provider    = identity_provider.up
    create_user = true
    outcomes    = { success = success, failure = failure, no_account = failure }
  }
}
journey "trusted" {
  realm = realm.corp
  start = node.fed
  node "federated_login" "fed" {
    provider = identity_provider.trusting
    outcomes = { success = success, failure = failure, no_account = failure }
  }
}
journey "mfa" {
  realm = realm.corp
  start = node.fed
  node "federated_login" "fed" {
    provider = identity_provider.up
    outcomes = { success = node.push, failure = failure, no_account = failure }
  }
  node "push_sender" "push" {
    remove_skip = true
    outcomes    = { sent = node.wait, not_registered = failure }
  }
  node "push_wait" "wait" {
    seconds  = 1
    outcomes = { done = node.verify, exit = failure }
  }
  node "push_result_verifier" "verify" {
    outcomes = { success = success, failure = failure, expired = failure, waiting = node.wait }
  }
}
%[3]s
`

const rpHCL = `
relying_party "%[1]s" {
  realm         = realm.corp
  journey       = journey.%[1]s
  client_type   = "public"
  client_id     = "%[1]s"
  redirect_uris = ["%[2]s/app/callback"]
  scopes        = ["openid", "profile", "email"]
}
`

// instance is one authd serving OAuth (and, downstream, federation and push).
type instance struct {
	URL   string
	Users *users.Repo
	Eng   *engine.Engine
	Fed   *federation.Service
	Push  *push.Service
}

func listen(t *testing.T, host string) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Skipf("cannot listen on %s: %v", host, err)
	}
	return ln, "http://" + ln.Addr().String()
}

func serve(t *testing.T, ln net.Listener, self, src string, downstream bool) *instance {
	t.Helper()
	env := map[string]string{"DOWN_SECRET": downSecret, "UPSTREAM_SECRET": downSecret, "WEBAPP_SECRET": downSecret}
	cfg, diags := dsl.LoadSources(map[string][]byte{"authd.hcl": []byte(src)}, "", dsl.Options{
		RequireEnv: true, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	if diags.HasErrors() {
		t.Fatalf("configuration: %s", diags.Error())
	}
	kv := memstore.New()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	repo := users.NewRepo(kv)
	eng := engine.New(engine.Options{KV: kv, Users: repo, Log: log})
	eng.Load(cfg.Program)
	in := &instance{URL: self, Users: repo, Eng: eng}
	mux := http.NewServeMux()
	if downstream {
		in.Fed = federation.New(federation.Options{KV: kv, PublicURL: self, Log: log})
		in.Fed.Load(federation.FromDSL(cfg))
		eng.Services().Federation = in.Fed
		var err error
		if in.Push, err = push.New(eng, kv, cfg, log, push.WithPublicURL(self)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { in.Push.Close() })
		mux.Handle("/api/v1/push/", in.Push.Handler())
		mux.Handle("/api/v1/realms/", api.New(eng, log))
	}
	p, err := oauth.New(eng, kv, repo, oauth.FromDSL(cfg), log)
	if err != nil {
		t.Fatal(err)
	}
	if in.Fed != nil {
		p.SetFederation(in.Fed)
	}
	mux.Handle("/", p.Handler())
	mux.HandleFunc("GET "+appPath, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app callback") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return in
}

// pair starts the upstream on 127.0.0.1 and the downstream on 127.0.0.2
// (two hosts, so a cookie jar keeps their cookies apart as a browser
// would), with upstream users alice (email verified), carol (the provider
// does not say) and dave (email_verified false).
func pair(t *testing.T) (up, down *instance) {
	t.Helper()
	upLn, upURL := listen(t, "127.0.0.1")
	downLn, downURL := listen(t, "127.0.0.2")
	up = serve(t, upLn, upURL, fmt.Sprintf(upstreamHCL, upURL, downURL), false)
	var rps strings.Builder
	for _, j := range []string{"email", "sub", "create", "mfa", "trusted"} {
		fmt.Fprintf(&rps, rpHCL, j, downURL)
	}
	down = serve(t, downLn, downURL, fmt.Sprintf(downstreamHCL, downURL, upURL, rps.String()), true)
	hash, _ := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	for _, u := range []*users.User{
		{Realm: "corp", Name: "alice", Email: "alice@example.com", Attributes: map[string]string{"email_verified": "true"}},
		{Realm: "corp", Name: "carol", Email: "carol@example.com"},
		{Realm: "corp", Name: "dave", Email: "dave@example.com", Attributes: map[string]string{"email_verified": "false"}},
		{Realm: "corp", Name: "erin", Email: "erin@example.com", Attributes: map[string]string{"email_verified": "true"}},
	} {
		u.PasswordHash = string(hash)
		if err := up.Users.Create(u); err != nil {
			t.Fatal(err)
		}
	}
	return up, down
}

// enrolDevice enrols a software authenticator for user in realm of this
// instance, as a phone scanning the QR code would.
func (in *instance) enrolDevice(t *testing.T, realm, user string) (*authenticator.Client, *authenticator.Account) {
	t.Helper()
	now := time.Now()
	tk, err := in.Push.BeginEnrollment(context.Background(), &engine.EnrollmentRequest{
		Realm: in.Eng.Program().Realms[realm], User: user, Issuer: "test", Now: now, Expires: now.Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	auth := &authenticator.Client{}
	acct, err := auth.Enroll(context.Background(), tk.URI, authenticator.EnrollOptions{})
	if err != nil {
		t.Fatalf("enrol: %v", err)
	}
	return auth, acct
}

// browser follows redirects with a cookie jar; rewrite, when set, may
// change a request before it is sent (an attacker's or a broken
// provider's tampering) or stop there (return false).
type browser struct {
	t       *testing.T
	c       *http.Client
	rewrite func(*http.Request) bool
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t}
	b.c = &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) > 20 {
			return fmt.Errorf("too many redirects")
		}
		if b.rewrite != nil && !b.rewrite(req) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

// captureCallback makes b record the URL of the upstream's redirect to
// authd's callback in *cb; with stop, b stops there instead of following
// it (the test then replays or withholds it).
func (b *browser) captureCallback(cb *string, stop bool) {
	b.rewrite = func(r *http.Request) bool {
		if r.URL.Path == federation.CallbackPath {
			*cb = r.URL.String()
			return !stop
		}
		return true
	}
}

type page struct {
	status int
	url    *url.URL
	body   string
	loc    string
}

func (b *browser) do(req *http.Request) *page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return &page{status: resp.StatusCode, url: resp.Request.URL, body: string(body), loc: resp.Header.Get("Location")}
}

func (b *browser) get(u string) *page {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.do(req)
}

var (
	reAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	reCSRF   = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	reMeta   = regexp.MustCompile(`<meta http-equiv="refresh" content="1;url=([^"]+)">`)
)

func unescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

// signIn fills the upstream's login form on p and submits it.
func (b *browser) signIn(p *page, user string) *page {
	b.t.Helper()
	a, c := reAction.FindStringSubmatch(p.body), reCSRF.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || a == nil || c == nil {
		b.t.Fatalf("no login form at %s (%d):\n%s", p.url, p.status, p.body)
	}
	form := url.Values{"csrf": {unescape(c[1])}, "cb_username": {user}, "cb_password": {password}}
	target := p.url.ResolveReference(&url.URL{Path: "/"}).String() + strings.TrimPrefix(unescape(a[1]), "/")
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// authorize starts the app's code flow (PKCE) at the downstream, which
// sends the browser upstream; it returns the upstream login page.
func (b *browser) authorize(down *instance, client string) *page {
	b.t.Helper()
	v := make([]byte, 32)
	_, _ = rand.Read(v)
	sum := sha256.Sum256([]byte(base64.RawURLEncoding.EncodeToString(v)))
	q := url.Values{
		"client_id": {client}, "response_type": {"code"}, "redirect_uri": {down.URL + appPath},
		"scope": {"openid email"}, "state": {"app-state-0123456789"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	return b.get(down.URL + "/oauth2/authorize?" + q.Encode())
}

// appResult reads where the flow ended at the app: a code, or an error.
func appResult(t *testing.T, p *page) (code, errCode string) {
	t.Helper()
	if p.url.Path != appPath {
		t.Fatalf("the flow ended at %s (%d), not the app:\n%s", p.url, p.status, p.body)
	}
	return p.url.Query().Get("code"), p.url.Query().Get("error")
}

func (in *instance) user(t *testing.T, name string) *users.User {
	t.Helper()
	u, err := in.Users.Get("corp", name)
	if err != nil {
		t.Fatalf("downstream user %q: %v", name, err)
	}
	return u
}

func (in *instance) addUser(t *testing.T, u *users.User) {
	t.Helper()
	u.Realm = "corp"
	if err := in.Users.Create(u); err != nil {
		t.Fatal(err)
	}
}

// upstreamSub is the subject the upstream gives a user (its user name).
func link(up *instance, name string) string { return up.URL + " " + name }

func TestFederatedLogin(t *testing.T) {
	up, down := pair(t)
	attr := nodes.FederationLinkAttribute("up")
	down.addUser(t, &users.User{Name: "alice.local", Email: "Alice@Example.com"})
	down.addUser(t, &users.User{Name: "carol", Email: "carol@example.com"})
	down.addUser(t, &users.User{Name: "dave", Email: "dave@example.com"})
	down.addUser(t, &users.User{Name: "erin.sub", Attributes: map[string]string{attr: link(up, "erin")}})

	tests := []struct {
		name, client, user string
		wantOK             bool
		wantUser           string // the downstream user the journey established
		wantLink           bool   // the user holds the link afterwards
	}{
		{name: "match by verified email, link stored", client: "email", user: "alice", wantOK: true, wantUser: "alice.local", wantLink: true},
		{name: "email the provider does not say is verified does not match", client: "email", user: "carol", wantOK: false},
		{name: "unverified email does not match", client: "email", user: "dave", wantOK: false},
		{name: "assume_email_verified: an email the provider does not qualify matches", client: "trusted", user: "carol", wantOK: true, wantUser: "carol", wantLink: true},
		{name: "assume_email_verified: an unverified email still does not match", client: "trusted", user: "dave", wantOK: false},
		{name: "assume_email_verified: a verified email matches", client: "trusted", user: "alice", wantOK: true, wantUser: "alice.local", wantLink: true},
		{name: "match by sub", client: "sub", user: "erin", wantOK: true, wantUser: "erin.sub", wantLink: true},
		{name: "match by sub after the email match linked", client: "sub", user: "alice", wantOK: true, wantUser: "alice.local", wantLink: true},
		{name: "no account by sub", client: "sub", user: "dave", wantOK: false},
		{name: "create_user creates the user", client: "create", user: "erin", wantOK: true, wantUser: "erin@example.com", wantLink: true},
		{name: "create_user finds the created user again", client: "create", user: "erin", wantOK: true, wantUser: "erin@example.com", wantLink: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t)
			login := b.authorize(down, tc.client)
			if !strings.HasPrefix(login.url.String(), up.URL+"/oauth2/login") {
				t.Fatalf("the downstream did not send the browser to the upstream login: %s", login.url)
			}
			code, errCode := appResult(t, b.signIn(login, tc.user))
			if ok := code != "" && errCode == ""; ok != tc.wantOK {
				t.Fatalf("code %q error %q, want success %v", code, errCode, tc.wantOK)
			}
			if !tc.wantOK {
				return
			}
			u := down.user(t, tc.wantUser)
			linkAttr := attr
			if tc.client == "trusted" {
				linkAttr = nodes.FederationLinkAttribute("trusting")
			}
			if got := u.Attributes[linkAttr]; tc.wantLink && got != link(up, tc.user) {
				t.Errorf("link %q, want %q", got, link(up, tc.user))
			}
			if u.PasswordHash != "" {
				t.Errorf("%s has a password", u.Name)
			}
		})
	}

	t.Run("no_account leaves the downstream users alone", func(t *testing.T) {
		all, _ := down.Users.List("corp")
		for _, u := range all {
			if u.Name == "dave@example.com" || strings.HasPrefix(u.Name, "up:") {
				t.Errorf("unexpected user %q", u.Name)
			}
		}
	})
}

// TestFederationRejects tampers with the flow: a state the downstream did
// not issue, a state used twice or in another browser, and a nonce the
// upstream echoes but the downstream did not send.
func TestFederationRejects(t *testing.T) {
	up, down := pair(t)
	down.addUser(t, &users.User{Name: "alice", Email: "alice@example.com"})
	isCallback := func(r *http.Request) bool {
		return r.URL.Host == strings.TrimPrefix(down.URL, "http://") && r.URL.Path == federation.CallbackPath
	}

	t.Run("bad state", func(t *testing.T) {
		b := newBrowser(t)
		b.rewrite = func(r *http.Request) bool {
			if isCallback(r) {
				q := r.URL.Query()
				q.Set("state", q.Get("state")+"x")
				r.URL.RawQuery = q.Encode()
			}
			return true
		}
		p := b.signIn(b.authorize(down, "email"), "alice")
		if p.url.Path != federation.CallbackPath || p.status != http.StatusBadRequest {
			t.Fatalf("tampered state: %d at %s", p.status, p.url)
		}
	})

	t.Run("state used twice or in another browser", func(t *testing.T) {
		b := newBrowser(t)
		var cb string
		b.captureCallback(&cb, true)
		b.signIn(b.authorize(down, "email"), "alice")
		if cb == "" {
			t.Fatal("the upstream did not redirect to the callback")
		}
		if p := newBrowser(t).get(cb); p.status != http.StatusBadRequest {
			t.Fatalf("callback in another browser: %d", p.status)
		}
		// The state was consumed by that attempt: even the right
		// browser cannot use it now.
		b.rewrite = nil
		if p := b.get(cb); p.status != http.StatusBadRequest {
			t.Fatalf("replayed state: %d %s", p.status, p.url)
		}
	})

	t.Run("replay after success", func(t *testing.T) {
		b := newBrowser(t)
		var cb string
		b.captureCallback(&cb, false)
		if code, _ := appResult(t, b.signIn(b.authorize(down, "email"), "alice")); code == "" {
			t.Fatal("the login failed")
		}
		b.rewrite = nil
		if p := b.get(cb); p.status != http.StatusBadRequest {
			t.Fatalf("replayed callback: %d %s", p.status, p.url)
		}
	})

	t.Run("expired state swept", func(t *testing.T) {
		b := newBrowser(t)
		var cb string
		b.captureCallback(&cb, true)
		b.signIn(b.authorize(down, "email"), "alice")
		if err := down.Fed.Sweep(time.Now().Add(federation.StateTTL + time.Minute)); err != nil {
			t.Fatal(err)
		}
		b.rewrite = nil
		if p := b.get(cb); p.status != http.StatusBadRequest {
			t.Fatalf("swept state: %d %s", p.status, p.url)
		}
	})

	t.Run("nonce mismatch", func(t *testing.T) {
		b := newBrowser(t)
		b.rewrite = func(r *http.Request) bool {
			if r.URL.Path == "/oauth2/authorize" && strings.HasPrefix(up.URL, "http://"+r.URL.Host) {
				q := r.URL.Query()
				q.Set("nonce", "not-the-downstream-nonce-0123456789")
				r.URL.RawQuery = q.Encode()
			}
			return true
		}
		code, errCode := appResult(t, b.signIn(b.authorize(down, "email"), "alice"))
		if code != "" || errCode != "access_denied" {
			t.Fatalf("nonce mismatch: code %q error %q, want access_denied", code, errCode)
		}
	})

	t.Run("provider refuses", func(t *testing.T) {
		b := newBrowser(t)
		b.rewrite = func(r *http.Request) bool {
			if isCallback(r) {
				q := r.URL.Query()
				q.Del("code")
				q.Set("error", "access_denied")
				r.URL.RawQuery = q.Encode()
			}
			return true
		}
		code, errCode := appResult(t, b.signIn(b.authorize(down, "email"), "alice"))
		if code != "" || errCode != "access_denied" {
			t.Fatalf("upstream error: code %q error %q", code, errCode)
		}
	})

	t.Run("PKCE S256 is sent", func(t *testing.T) {
		b := newBrowser(t)
		var q url.Values
		b.rewrite = func(r *http.Request) bool {
			if r.URL.Path == "/oauth2/authorize" && strings.HasPrefix(up.URL, "http://"+r.URL.Host) {
				q = r.URL.Query()
			}
			return true
		}
		b.authorize(down, "email")
		if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || len(q.Get("state")) < 22 || len(q.Get("nonce")) < 22 {
			t.Fatalf("upstream authorization request %v", q)
		}
	})
}

// TestFederationThenPush: after the upstream login the journey goes on to
// a push to the downstream user's enrolled device, approved with the
// software authenticator.
func TestFederationThenPush(t *testing.T) {
	_, down := pair(t)
	down.addUser(t, &users.User{Name: "alice", Email: "alice@example.com"})
	ctx := context.Background()
	auth, acct := down.enrolDevice(t, "corp", "alice")

	b := newBrowser(t)
	wait := b.signIn(b.authorize(down, "mfa"), "alice")
	m := reMeta.FindStringSubmatch(wait.body)
	if wait.url.Host != strings.TrimPrefix(down.URL, "http://") || m == nil {
		t.Fatalf("no push wait page after the upstream login: %d %s\n%s", wait.status, wait.url, wait.body)
	}
	pending, err := auth.Pending(ctx, acct, 0)
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending pushes: %v %+v", err, pending)
	}
	if _, err := auth.Respond(ctx, acct, pending[0], authenticator.Answer{Approve: true}); err != nil {
		t.Fatalf("approve: %v", err)
	}
	// The wait page refreshes until the answer is seen (the server holds
	// each refresh until it comes, so this ends without sleeping).
	p := b.get(down.URL + unescape(m[1]))
	for i := 0; p.url.Path != appPath && i < 30; i++ {
		mm := reMeta.FindStringSubmatch(p.body)
		if mm == nil {
			t.Fatalf("neither the app nor a wait page: %d %s\n%s", p.status, p.url, p.body)
		}
		p = b.get(down.URL + unescape(mm[1]))
	}
	if code, errCode := appResult(t, p); code == "" {
		t.Fatalf("after the push: error %q", errCode)
	}
}

// apiStep posts to the journey API and decodes the answer.
func apiStep(t *testing.T, down *instance, body string) map[string]any {
	t.Helper()
	resp, err := http.Post(down.URL+"/api/v1/realms/corp/journeys/email/authenticate", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("journey API answer (%d): %v", resp.StatusCode, err)
	}
	return out
}

func redirectURI(t *testing.T, r map[string]any) string {
	t.Helper()
	cbs, _ := r["callbacks"].([]any)
	if len(cbs) != 1 {
		t.Fatalf("want one callback: %v", r)
	}
	cb, _ := cbs[0].(map[string]any)
	if cb["type"] != engine.CallbackRedirect || cb["id"] != "redirect" || cb["uri"] == "" {
		t.Fatalf("want a redirect callback: %v", cb)
	}
	return cb["uri"].(string)
}

// TestFederationOverJourneyAPI: the journey API returns the redirect as a
// callback; the browser signs in upstream and comes back to a page that
// says to return; the client's answer then moves the journey on.
func TestFederationOverJourneyAPI(t *testing.T) {
	_, down := pair(t)
	down.addUser(t, &users.User{Name: "alice", Email: "alice@example.com"})
	r := apiStep(t, down, `{}`)
	sid, _ := r["session"].(string)
	uri := redirectURI(t, r)
	answer := fmt.Sprintf(`{"session": %q, "callbacks": [{"id": "redirect", "value": "done"}]}`, sid)

	// Answered before the browser is back: the same redirect again.
	if again := redirectURI(t, apiStep(t, down, answer)); again != uri {
		t.Fatalf("early answer asked %q, want %q", again, uri)
	}
	b := newBrowser(t)
	var cb string
	b.captureCallback(&cb, false)
	p := b.signIn(b.get(uri), "alice")
	if p.url.Path != federation.CallbackPath || p.status != http.StatusOK || !strings.Contains(p.body, "Return to the application") {
		t.Fatalf("callback page: %d %s\n%s", p.status, p.url, p.body)
	}
	done := apiStep(t, down, answer)
	if done["outcome"] != "success" || done["user"] != "alice" {
		t.Fatalf("after the upstream login: %v", done)
	}
	if p := newBrowser(t).get(cb); p.status != http.StatusBadRequest {
		t.Fatalf("replayed callback: %d", p.status)
	}
}

// TestProviderDown: an upstream that does not answer discovery fails the
// login (federated_login's failure outcome), it does not break authd.
func TestProviderDown(t *testing.T) {
	dead, deadURL := listen(t, "127.0.0.1")
	dead.Close()
	downLn, downURL := listen(t, "127.0.0.2")
	down := serve(t, downLn, downURL, fmt.Sprintf(downstreamHCL, downURL, deadURL, fmt.Sprintf(rpHCL, "email", downURL)), true)
	b := newBrowser(t)
	code, errCode := appResult(t, b.authorize(down, "email"))
	if code != "" || errCode != "access_denied" {
		t.Fatalf("provider down: code %q error %q", code, errCode)
	}
}
