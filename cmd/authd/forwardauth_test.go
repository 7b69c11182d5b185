package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/authd/authd/engine/logtest"
)

// Secrets of the api-gateway example's clients in this test.
const (
	gwWebSecret     = "web-secret-for-the-gateway-test-0123456789"
	gwReportsSecret = "reports-secret-for-the-gateway-test-012345"
	gwAlicePassword = "alice-correct-horse"
)

// nginxBinary finds Debian's nginx. The test needs it: in CI (env CI
// set) a missing nginx fails the test, elsewhere it skips.
func nginxBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("nginx is not installed (bash .ci/install-tools installs it); the forward-auth test needs it in CI")
	}
	t.Skip("nginx is not installed (bash .ci/install-tools installs it)")
	return ""
}

// mustReplace replaces old, which must occur exactly once in s: the test
// rewrites the example's files, and a changed example must fail loudly
// here rather than test something else.
func mustReplace(t *testing.T, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("the example has %d occurrences of %q, want 1", n, old)
	}
	return strings.Replace(s, old, new, 1)
}

func readExample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "examples", "api-gateway", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// runningNginx is nginx started in the foreground on a prefix of its own.
type runningNginx struct {
	addr   string
	prefix string
	cmd    *exec.Cmd
	done   chan struct{}
	out    logtest.Buffer // nginx's stdout and stderr
}

func (n *runningNginx) logs() string {
	out := n.out.String()
	b, _ := os.ReadFile(filepath.Join(n.prefix, "logs", "error.log"))
	return "--- nginx output\n" + out + "--- error.log\n" + string(b)
}

// startNginx runs the example's nginx.conf with authd, the API and the
// listen address replaced. The address is picked free and may be taken
// before nginx binds it, so a bind failure is retried on another port.
func startNginx(t *testing.T, bin, dir, authdAddr, apiAddr string) *runningNginx {
	t.Helper()
	conf := readExample(t, "nginx.conf")
	conf = mustReplace(t, conf, "server    127.0.0.1:9000;", "server    "+authdAddr+";")
	conf = mustReplace(t, conf, "server 127.0.0.1:8081;", "server "+apiAddr+";")
	// One process, so nothing outlives the test, and no switch to the
	// "nobody" user when the test runs as root.
	conf = "master_process off;\n" + conf
	for attempt := 0; ; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		n := &runningNginx{addr: addr, prefix: filepath.Join(dir, fmt.Sprintf("nginx%d", attempt)), done: make(chan struct{})}
		for _, d := range []string{"logs", "tmp"} {
			if err := os.MkdirAll(filepath.Join(n.prefix, d), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		path := filepath.Join(n.prefix, "nginx.conf")
		writeFiles(t, n.prefix, map[string]string{"nginx.conf": mustReplace(t, conf, "listen 127.0.0.1:8080;", "listen "+addr+";")})
		n.cmd = exec.Command(bin, "-p", n.prefix+"/", "-c", path, "-e", filepath.Join(n.prefix, "logs", "error.log"))
		n.cmd.Stdout, n.cmd.Stderr = &n.out, &n.out
		if err := n.cmd.Start(); err != nil {
			t.Fatalf("starting nginx: %v", err)
		}
		go func() { n.cmd.Wait(); close(n.done) }()
		t.Cleanup(func() {
			n.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-n.done:
			case <-time.After(15 * time.Second):
				n.cmd.Process.Kill()
				<-n.done
			}
		})
		err = waitHTTP(n)
		if err == nil {
			return n
		}
		if attempt < 2 && strings.Contains(n.logs(), "Address already in use") {
			continue
		}
		t.Fatalf("nginx did not start: %v\n%s", err, n.logs())
	}
}

// waitHTTP polls until nginx answers on its address or exits.
func waitHTTP(n *runningNginx) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-n.done:
			return errors.New("nginx exited")
		default:
		}
		if resp, err := http.Get("http://" + n.addr + "/nowhere"); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("no answer within 30s")
}

// gwAnswer is what the client got through nginx.
type gwAnswer struct {
	status    int
	challenge []string // WWW-Authenticate
	upstream  map[string]string
}

// get calls nginx with an optional bearer token and extra headers.
func (n *runningNginx) get(t *testing.T, path, token string, hdr ...string) gwAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+n.addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s through nginx: %v\n%s", path, err, n.logs())
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	a := gwAnswer{status: resp.StatusCode, challenge: resp.Header.Values("WWW-Authenticate")}
	if resp.Header.Get("X-Test-Upstream") == "yes" {
		if err := json.Unmarshal(body, &a.upstream); err != nil {
			t.Fatalf("the API's answer: %v: %s", err, body)
		}
	}
	return a
}

// gwToken asks authd's token endpoint for an access token.
func gwToken(t *testing.T, authdAddr, client, secret string, form url.Values) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+authdAddr+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &out) != nil || out.AccessToken == "" {
		t.Fatalf("token for %s: %d %s", client, resp.StatusCode, body)
	}
	return out.AccessToken
}

// jwtExpiry reads exp from a JWT's payload (not verified: authd checks it).
func jwtExpiry(t *testing.T, token string) time.Time {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.20s...", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Exp int64 `json:"exp"`
	}
	if err := json.Unmarshal(b, &c); err != nil || c.Exp == 0 {
		t.Fatalf("no exp in the token: %v", err)
	}
	return time.Unix(c.Exp, 0)
}

// pollStatus calls path until it answers want, and returns that answer;
// it fails at the deadline. Every other answer must be one of allowed.
func (n *runningNginx) pollStatus(t *testing.T, path, token string, want int, allowed ...int) gwAnswer {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last gwAnswer
	for time.Now().Before(deadline) {
		last = n.get(t, path, token)
		if last.status == want {
			return last
		}
		ok := false
		for _, s := range allowed {
			ok = ok || last.status == s
		}
		if !ok {
			t.Fatalf("GET %s: %d while waiting for %d", path, last.status, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("GET %s never answered %d (last %d)", path, want, last.status)
	return last
}

// TestForwardAuthNginx runs examples/api-gateway as a user would: authd
// with the example's configuration, Debian's nginx with the example's
// nginx.conf (auth_request to /api/v1/authz/{name}), and a small API
// behind it. It checks what the client and the API see: a valid token
// reaches the API with X-Authd-User (a forged one is replaced), a missing
// or expired token is 401, a token without a required scope is 403 with
// authd's insufficient_scope challenge, and a revoked token at the
// external (introspection) resource is 401 once its cached answer runs
// out. The checks are not held to the per-address rate limit.
func TestForwardAuthNginx(t *testing.T) {
	bin := nginxBinary(t)
	dir := shortDir(t)

	src := readExample(t, "authd.hcl")
	src = mustReplace(t, src, `listen = "127.0.0.1:9000"`, `listen = "127.0.0.1:0"`)
	// reports' tokens expire soon (the expired case); billing asks the
	// store again a second after a positive answer (the revoked case).
	src = mustReplace(t, src, `access_token_ttl    = "10m"`, `access_token_ttl    = "2s"`)
	src = mustReplace(t, src, `validate_interval  = "30s"`, `validate_interval  = "1s"`)
	writeFiles(t, dir, map[string]string{"authd.hcl": src})
	vars := []string{"WEB_SECRET=" + gwWebSecret, "REPORTS_SECRET=" + gwReportsSecret}
	env{dir: dir, vars: vars, stdin: gwAlicePassword + "\n"}.run(t, "user", "add", "-realm", "corp", "-password-stdin", "alice").want(t, 0, nil, nil)
	// A per-address budget far below what the test sends through nginx:
	// the token endpoint is held to it, the forward-auth checks are not
	// (every one comes from nginx's address).
	srv := env{dir: dir, vars: vars}.startServer(t, "-rate-limit-ip", "10/1h")
	defer srv.stop()

	// The API echoes the identity headers it received.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Test-Upstream", "yes")
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{
			"path":   r.URL.Path,
			"user":   r.Header.Get("X-Authd-User"),
			"scopes": r.Header.Get("X-Authd-Scopes"),
			"client": r.Header.Get("X-Authd-Client"),
		})
	}))
	defer api.Close()
	ngx := startNginx(t, bin, dir, srv.addr, api.Listener.Addr().String())

	password := func(scope string) string {
		return gwToken(t, srv.addr, "web", gwWebSecret, url.Values{
			"grant_type": {"password"}, "username": {"alice"}, "password": {gwAlicePassword}, "scope": {scope},
		})
	}
	reader := password("orders:read billing:read")
	writer := password("orders:read orders:write")

	for _, tc := range []struct {
		name      string
		path      string
		token     string
		hdr       []string
		status    int
		challenge string // in WWW-Authenticate
		user      string // X-Authd-User at the API (200 only)
		scopes    string
		client    string // X-Authd-Client at the API: a header block of orders only
	}{
		{name: "valid token reaches the API", path: "/orders/42", token: reader, status: 200, user: "alice", scopes: "orders:read billing:read", client: "web"},
		{name: "a forged X-Authd-User is replaced", path: "/orders/42", token: reader, hdr: []string{"X-Authd-User", "mallory", "X-Authd-Client", "evil"}, status: 200, user: "alice", scopes: "orders:read billing:read", client: "web"},
		{name: "a forged claim header of another resource is dropped", path: "/admin/x", token: writer, hdr: []string{"X-Authd-Client", "evil"}, status: 200, user: "alice", scopes: "orders:read orders:write"},
		{name: "every required scope present", path: "/admin/x", token: writer, status: 200, user: "alice", scopes: "orders:read orders:write"},
		{name: "external validation, valid token", path: "/billing/1", token: reader, status: 200, user: "alice", scopes: "orders:read billing:read"},
		{name: "missing token", path: "/orders/42", status: 401, challenge: `Bearer realm="orders"`},
		{name: "missing token, forged identity", path: "/orders/42", hdr: []string{"X-Authd-User", "alice"}, status: 401, challenge: `Bearer realm="orders"`},
		{name: "not a bearer token", path: "/orders/42", hdr: []string{"Authorization", "Basic YWxpY2U6eA=="}, status: 401, challenge: `Bearer realm="orders"`},
		{name: "garbage token", path: "/orders/42", token: "eyJhbGciOiJFUzI1NiJ9.e30.AAAA", status: 401, challenge: `error="invalid_token"`},
		{name: "wrong scope", path: "/admin/x", token: reader, status: 403, challenge: `Bearer realm="admin", error="insufficient_scope", scope="orders:read orders:write"`},
		{name: "wrong scope, external", path: "/billing/1", token: writer, status: 403, challenge: `error="insufficient_scope", scope="billing:read"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := ngx.get(t, tc.path, tc.token, tc.hdr...)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d (WWW-Authenticate %q, API saw %v)\n%s", a.status, tc.status, a.challenge, a.upstream, ngx.logs())
			}
			if tc.status != 200 {
				if a.upstream != nil {
					t.Errorf("a refused request reached the API: %v", a.upstream)
				}
				if len(a.challenge) != 1 || !strings.Contains(a.challenge[0], tc.challenge) {
					t.Errorf("WWW-Authenticate %q, want one containing %q", a.challenge, tc.challenge)
				}
				return
			}
			if a.upstream == nil {
				t.Fatal("200 did not come from the API")
			}
			if a.upstream["path"] != tc.path || a.upstream["user"] != tc.user || a.upstream["scopes"] != tc.scopes || a.upstream["client"] != tc.client {
				t.Errorf("the API saw %v, want user %q, scopes %q, client %q", a.upstream, tc.user, tc.scopes, tc.client)
			}
		})
	}

	// nginx asks with GET whatever the method of the request it guards.
	t.Run("other methods", func(t *testing.T) {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodHead} {
			for _, tc := range []struct {
				token  string
				status int
			}{{reader, 200}, {"", 401}} {
				req, _ := http.NewRequest(m, "http://"+ngx.addr+"/orders/7", strings.NewReader("{}"))
				if tc.token != "" {
					req.Header.Set("Authorization", "Bearer "+tc.token)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.status {
					t.Errorf("%s with token %v: %d, want %d", m, tc.token != "", resp.StatusCode, tc.status)
				}
			}
		}
	})

	t.Run("the gateway's address is not rate limited", func(t *testing.T) {
		for i := 0; i < 50; i++ {
			if a := ngx.get(t, "/orders/many", reader); a.status != 200 {
				t.Fatalf("check %d: %d\n%s", i, a.status, ngx.logs())
			}
		}
	})

	t.Run("expired token", func(t *testing.T) {
		tok := gwToken(t, srv.addr, "reports", gwReportsSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"orders:read"}})
		exp := jwtExpiry(t, tok)
		a := ngx.pollStatus(t, "/orders/1", tok, 401, 200)
		if time.Now().Before(exp) {
			t.Errorf("refused before it expired (exp %v)", exp)
		}
		if len(a.challenge) != 1 || !strings.Contains(a.challenge[0], `error="invalid_token"`) {
			t.Errorf("WWW-Authenticate %q, want invalid_token", a.challenge)
		}
	})

	t.Run("revoked token, external validation", func(t *testing.T) {
		tok := password("billing:read")
		if a := ngx.get(t, "/billing/2", tok); a.status != 200 {
			t.Fatalf("before revocation: %d", a.status)
		}
		req, _ := http.NewRequest(http.MethodPost, "http://"+srv.addr+"/oauth2/revoke", strings.NewReader(url.Values{"token": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("web", gwWebSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke: %d", resp.StatusCode)
		}
		// 200 from the cache until validate_interval (1s) runs out, then 401.
		a := ngx.pollStatus(t, "/billing/2", tok, 401, 200)
		if len(a.challenge) != 1 || !strings.Contains(a.challenge[0], `error="invalid_token"`) {
			t.Errorf("WWW-Authenticate %q, want invalid_token", a.challenge)
		}
	})
}
