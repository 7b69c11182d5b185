package api_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/ratelimit"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/engine/users"
	_ "github.com/authd/authd/nodes" // the real username and credentials nodes
	"github.com/authd/authd/protocols/api"
)

// clientHCL has a journey an application starts for its user (username,
// then a question, standing in for a push) and a public password login.
const clientHCL = `
realm "corp" {}
realm "lab" {}

journey "portal_push" {
  realm = realm.corp
  start = node.user
  node "username" "user" { next = node.confirm }
  node "choice" "confirm" {
    options  = ["approve", "deny"]
    outcomes = { approve = success, deny = failure }
  }
}

journey "login" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = success, failure = failure, locked = failure }
  }
}

api_client "portal" {
  secret      = "portal-secret-value"
  allowed_ips = ["127.0.0.1", "::1"]
  journeys    = [journey.portal_push]
}

api_client "remote" {
  secret      = "remote-secret-value"
  allowed_ips = ["192.0.2.0/24"]
  journeys    = [journey.portal_push]
}
`

// clientServer serves clientHCL as authd run does: the journey API and the
// portal endpoint over one engine, the portal's clients read from clients
// (swap it to reload them). alice's password is "secret".
func clientServer(t *testing.T, o api.Options) (*httptest.Server, *atomic.Pointer[map[string]*dsl.APIClient]) {
	t.Helper()
	cfg, diags := dsl.LoadSources(map[string][]byte{"authd.hcl": []byte(clientHCL)}, "", dsl.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	kv := memstore.New()
	repo := users.NewRepo(kv)
	hash, err := users.HashPassword("secret")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := repo.Create(&users.User{Realm: "corp", Name: "alice", PasswordHash: hash, Created: now, Updated: now}); err != nil {
		t.Fatal(err)
	}
	eng := engine.New(engine.Options{KV: kv, Users: repo})
	eng.Load(cfg.Program)
	var clients atomic.Pointer[map[string]*dsl.APIClient]
	clients.Store(&cfg.APIClients)
	mux := http.NewServeMux()
	o.APIClients = func() map[string]*dsl.APIClient { return *clients.Load() }
	mux.Handle("/", api.NewWithOptions(eng, o))
	mux.Handle(api.PortalPattern, api.NewPortal(api.PortalOptions{
		Engine:  eng,
		Log:     slog.New(slog.DiscardHandler),
		Clients: func() map[string]*dsl.APIClient { return *clients.Load() },
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &clients
}

// portalStart starts journey through the portal endpoint with basic auth.
func portalStart(t *testing.T, srv *httptest.Server, user, pass, journey, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/realms/corp/journeys/"+journey+"/start", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(user, pass)
	return do(t, req)
}

// TestClientJourneysStartOnlyThroughStart: a journey an api_client lists
// is refused on the public authenticate endpoint (it would send a push to
// any user named), while the client starts it and its session is resumed
// on the public endpoint by its id; other journeys start as before.
func TestClientJourneysStartOnlyThroughStart(t *testing.T) {
	srv, _ := clientServer(t, api.Options{})
	for _, tc := range []struct {
		name, path, body string
		code             int
		errCode          string
	}{
		{"client journey, {}", "/api/v1/realms/corp/journeys/portal_push/authenticate", `{}`, http.StatusForbidden, "forbidden"},
		{"client journey, empty body", "/api/v1/realms/corp/journeys/portal_push/authenticate", ``, http.StatusForbidden, "forbidden"},
		{"client journey in another realm", "/api/v1/realms/lab/journeys/portal_push/authenticate", `{}`, http.StatusNotFound, "not_found"},
		{"client journey, unknown realm", "/api/v1/realms/nope/journeys/portal_push/authenticate", `{}`, http.StatusNotFound, "not_found"},
		{"public journey", "/api/v1/realms/corp/journeys/login/authenticate", `{}`, http.StatusOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, m := post(t, srv, tc.path, tc.body)
			if code != tc.code || tc.errCode != "" && m["error"] != tc.errCode {
				t.Fatalf("%d %v; want %d %s", code, m, tc.code, tc.errCode)
			}
			if code != http.StatusForbidden {
				return
			}
			msg, _ := m["message"].(string)
			if !strings.Contains(msg, "journey portal_push is started by API clients only") || !strings.Contains(msg, "/journeys/portal_push/start") {
				t.Errorf("message %q does not say how the journey is started", msg)
			}
			for _, leak := range []string{"remote", "portal-secret-value", "api_client portal"} {
				if strings.Contains(msg, leak) {
					t.Errorf("message %q reveals %q", msg, leak)
				}
			}
		})
	}

	// The client starts it; the session goes on at the public endpoint.
	code, m := portalStart(t, srv, "portal", "portal-secret-value", "portal_push", `{"user":"alice"}`)
	if code != http.StatusOK || m["status"] != "pending" {
		t.Fatalf("portal start: %d %v", code, m)
	}
	session := m["session"].(string)
	const path = "/api/v1/realms/corp/journeys/portal_push/authenticate"
	if code, m := post(t, srv, path, `{"session":"`+session+`","callbacks":[{"id":"choice","value":"approve"}]}`); code != http.StatusOK || m["outcome"] != "success" || m["user"] != "alice" {
		t.Fatalf("resuming the client's session: %d %v", code, m)
	}
}

// TestClientJourneysFollowReload: the portal's clients are read per
// request, so a reload that drops a journey from every api_client makes it
// public at once, and one that lists a public journey closes it at once.
func TestClientJourneysFollowReload(t *testing.T) {
	srv, clients := clientServer(t, api.Options{})
	reload := func(journeys ...string) {
		c := *(*clients.Load())["portal"]
		c.Journeys = journeys
		clients.Store(&map[string]*dsl.APIClient{"portal": &c})
	}
	for _, tc := range []struct {
		name              string
		journeys          []string
		pushCode, logCode int
	}{
		{"as loaded", nil, http.StatusForbidden, http.StatusOK},
		{"portal_push dropped", []string{}, http.StatusOK, http.StatusOK},
		{"login listed", []string{"login"}, http.StatusOK, http.StatusForbidden},
		{"both listed", []string{"login", "portal_push"}, http.StatusForbidden, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.journeys != nil {
				reload(tc.journeys...)
			}
			if code, m := post(t, srv, "/api/v1/realms/corp/journeys/portal_push/authenticate", `{}`); code != tc.pushCode {
				t.Errorf("portal_push: %d %v; want %d", code, m, tc.pushCode)
			}
			if code, m := post(t, srv, "/api/v1/realms/corp/journeys/login/authenticate", `{}`); code != tc.logCode {
				t.Errorf("login: %d %v; want %d", code, m, tc.logCode)
			}
		})
	}
}

// TestPortalAuthenticatesBeforeTheAddressCheck: a wrong secret reads the
// same whether the client exists and whatever the address, so a caller
// without the secret cannot learn which names are clients; only a caller
// with the secret hears that its address is not allowed.
func TestPortalAuthenticatesBeforeTheAddressCheck(t *testing.T) {
	srv, _ := clientServer(t, api.Options{})
	for _, tc := range []struct {
		name, user, pass string
		code             int
		errCode          string
	}{
		{"existing client, wrong secret, address not allowed", "remote", "wrong", http.StatusUnauthorized, "unauthorized"},
		{"existing client, no secret, address not allowed", "remote", "", http.StatusUnauthorized, "unauthorized"},
		{"existing client, wrong secret, address allowed", "portal", "wrong", http.StatusUnauthorized, "unauthorized"},
		{"unknown client", "nobody", "remote-secret-value", http.StatusUnauthorized, "unauthorized"},
		{"right secret, address not allowed", "remote", "remote-secret-value", http.StatusForbidden, "forbidden"},
		{"right secret, address allowed", "portal", "portal-secret-value", http.StatusOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, m := portalStart(t, srv, tc.user, tc.pass, "portal_push", `{"user":"alice"}`)
			if code != tc.code || tc.errCode != "" && m["error"] != tc.errCode {
				t.Fatalf("%d %v; want %d %s", code, m, tc.code, tc.errCode)
			}
			if code == http.StatusUnauthorized && m["message"] != "api_client name or secret wrong" {
				t.Errorf("401 message %q differs from the others", m["message"])
			}
		})
	}
}

// TestPerUserLimitNameVariants: the credentials node trims the name it is
// given (Unicode spaces too), so " alice" logs in as alice; every such
// variant must draw on alice's one budget, not get guesses of its own.
func TestPerUserLimitNameVariants(t *testing.T) {
	const loginPath = "/api/v1/realms/corp/journeys/login/authenticate"
	variants := []string{"alice", " alice", "alice ", "\talice", "\u00a0alice", "\u2003alice", "alice\u3000"}

	// Without a limit, each variant with the right password is alice: the
	// node reads them all as "alice".
	open, _ := clientServer(t, api.Options{})
	for _, v := range variants {
		id := startAt(t, open, loginPath)
		if code, m := post(t, open, loginPath, answer(id, v, "secret")); code != 200 || m["outcome"] != "success" || m["user"] != "alice" {
			t.Fatalf("%q with the right password: %d %v; want alice's success", v, code, m)
		}
	}

	// With 3 guesses an hour, the 4th guess by any variant is refused.
	srv, _ := clientServer(t, api.Options{UserLimit: ratelimit.New(ratelimit.Rate{Events: 3, Per: time.Hour})})
	for i, v := range variants {
		want := http.StatusOK
		if i >= 3 {
			want = http.StatusTooManyRequests
		}
		id := startAt(t, srv, loginPath)
		if code, m := post(t, srv, loginPath, answer(id, v, "secret")); code != want {
			t.Errorf("guess %d as %q: %d %v; want %d", i+1, v, code, m, want)
		}
	}
	// Another user's budget is untouched.
	id := startAt(t, srv, loginPath)
	if code, m := post(t, srv, loginPath, answer(id, " bob", "x")); code != 200 || m["outcome"] != "failure" {
		t.Errorf("bob: %d %v", code, m)
	}
}

func startAt(t *testing.T, srv *httptest.Server, path string) string {
	t.Helper()
	code, m := post(t, srv, path, `{}`)
	if code != 200 || m["session"] == nil {
		t.Fatalf("start %s: %d %v", path, code, m)
	}
	return m["session"].(string)
}

// do sends req and decodes the JSON answer.
func do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s: not JSON: %v", req.URL.Path, err)
	}
	return resp.StatusCode, m
}
