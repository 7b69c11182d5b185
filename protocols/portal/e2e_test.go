package portal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/clientinfo"
	"github.com/authd/authd/engine/clientinfo/geotest"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/engine/users"
	_ "github.com/authd/authd/nodes"
	"github.com/authd/authd/protocols/api"
	"github.com/authd/authd/protocols/portal"
	"github.com/authd/authd/protocols/push"
	"github.com/authd/authd/protocols/push/authenticator"
)

const e2eHCL = `
realm "corp" {
  display_name   = "Example Corp"
  push_providers = [push_provider.poll]
}

push_provider "poll" "poll" {}

journey "enroll" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = node.register, failure = failure, locked = failure }
  }
  node "push_registration" "register" {
    outcomes = { success = success, failure = failure, timeout = failure }
  }
}

journey "portal_push" {
  realm = realm.corp
  start = node.user
  node "username" "user" { next = node.push }
  node "push_sender" "push" {
    push_type       = "tap"
    message_timeout = "60s"
    share_context   = true
    remove_skip     = true
    outcomes = { sent = node.wait, not_registered = failure }
  }
  node "push_wait" "wait" {
    seconds  = 30
    outcomes = { done = node.verify, exit = failure }
  }
  node "push_result_verifier" "verify" {
    outcomes = { success = success, failure = failure, expired = failure, waiting = node.wait }
  }
}

api_client "portal" {
  secret         = env("PORTAL_SECRET")
  allowed_ips    = ["127.0.0.0/8", "::1"]
  journeys       = [journey.portal_push]
  callback_urls  = ["%CALLBACK%"]
  geoip_database = "%GEOIP%"
  message_templates = {
    de = "[message] Gerät: [operatingSystem] [browser], Ort: [countryCode], [region], [city]"
  }
  callback_auth {
    username = "authd"
    password = env("CALLBACK_PASSWORD")
  }
}

api_client "remote" {
  secret      = env("PORTAL_SECRET")
  allowed_ips = ["192.0.2.0/24"]
  journeys    = [journey.portal_push]
}
`

const (
	portalSecret     = "portal-secret-value"
	callbackPassword = "callback-password-value"
	chromeWindows    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.0.0 Safari/537.36"
)

// TestPortalPushEndToEnd: the portal starts a push journey for alice with
// basic auth, her phone sees the secure message with browser, OS and
// location and approves, and the result arrives at the portal's callback
// URL with the callback's basic auth.
func TestPortalPushEndToEnd(t *testing.T) {
	results := make(chan portal.Result, 4)
	var authMu sync.Mutex
	var auths []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		authMu.Lock()
		auths = append(auths, u+":"+p)
		authMu.Unlock()
		var res portal.Result
		if err := json.NewDecoder(r.Body).Decode(&res); err != nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		results <- res
	}))
	defer rcv.Close()

	geo := geotest.Write(t, geotest.Place{Network: "203.0.113.0/24", CountryCode: "CH", Region: "Zurich", City: "Winterthur"})
	src := strings.NewReplacer("%CALLBACK%", rcv.URL+"/authd", "%GEOIP%", geo).Replace(e2eHCL)
	env := map[string]string{"PORTAL_SECRET": portalSecret, "CALLBACK_PASSWORD": callbackPassword}
	cfg, diags := dsl.LoadSources(map[string][]byte{"authd.hcl": []byte(src)}, t.TempDir(), dsl.Options{
		RequireEnv: true, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	if diags.HasErrors() {
		t.Fatalf("config: %v", diags)
	}
	pc := cfg.APIClients["portal"]
	db, err := clientinfo.OpenGeoDB(pc.GeoIPDatabase)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	kv := memstore.New()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	al := &auditLog{}
	d := portal.New(portal.Options{KV: kv, Audit: al, Log: log, Auth: func(c string) (portal.Auth, bool) {
		ac := cfg.APIClients[c]
		if ac == nil || ac.CallbackAuth == nil {
			return portal.Auth{}, false
		}
		return portal.Auth{Username: ac.CallbackAuth.Username, Password: ac.CallbackAuth.Password.Value()}, true
	}})
	// The engine writes to the store's audit log through the observer,
	// as authd run does: journey ends then commit with the session's
	// tombstone and reach the dispatcher through Committed.
	storeLog, err := audit.New(kv, audit.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(engine.Options{KV: kv, Log: log, Audit: d.Observe(storeLog)})
	eng.Load(cfg.Program)
	d.SetEngine(eng)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)

	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	svc, err := push.New(eng, kv, cfg, log, push.WithPublicURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	mux.Handle("/api/v1/push/", svc.Handler())
	mux.Handle("/", api.New(eng, log))
	mux.Handle(api.PortalPattern, api.NewPortal(api.PortalOptions{
		Engine: eng, Log: log,
		Clients: func() map[string]*dsl.APIClient { return cfg.APIClients },
		Composer: func(c *dsl.APIClient) *clientinfo.Composer {
			return &clientinfo.Composer{Geo: db, Templates: c.MessageTemplates}
		},
		Started: func(s api.PortalStart) error {
			x := portal.Expectation{Session: s.Session, Realm: s.Realm, Journey: s.Journey, User: s.User, Client: s.Client, CallbackURL: s.CallbackURL}
			if s.Done {
				return d.Finished(x, portal.Result{Outcome: s.Outcome, User: s.User, Realm: s.Realm, Journey: s.Journey, Session: s.Session, Reason: s.Reason, Time: s.Time})
			}
			return d.Expect(x)
		},
	}))

	// alice and her phone.
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw-alice"), bcrypt.MinCost)
	if err := users.NewRepo(kv).Create(&users.User{Realm: "corp", Name: "alice", PasswordHash: string(hash), Created: time.Now(), Updated: time.Now()}); err != nil {
		t.Fatal(err)
	}
	phone := &authenticator.Client{HTTP: srv.Client()}
	acct := enrol(t, srv, phone)

	// Refusals first: wrong secret, unknown client, a journey not listed,
	// a callback URL not listed.
	for _, tc := range []struct {
		name, user, pass, journey, body string
		status                          int
	}{
		{"wrong secret", "portal", "nope", "portal_push", `{"user":"alice"}`, http.StatusUnauthorized},
		{"no auth", "", "", "portal_push", `{"user":"alice"}`, http.StatusUnauthorized},
		{"address not allowed", "remote", portalSecret, "portal_push", `{"user":"alice"}`, http.StatusForbidden},
		{"unknown client", "other", portalSecret, "portal_push", `{"user":"alice"}`, http.StatusUnauthorized},
		{"journey not listed", "portal", portalSecret, "enroll", `{"user":"alice"}`, http.StatusForbidden},
		{"callback not listed", "portal", portalSecret, "portal_push", `{"user":"alice","callback_url":"` + rcv.URL + `/other"}`, http.StatusBadRequest},
		{"no user", "portal", portalSecret, "portal_push", `{}`, http.StatusBadRequest},
		{"bad ip", "portal", portalSecret, "portal_push", `{"user":"alice","ip_address":"x"}`, http.StatusBadRequest},
	} {
		if st, body := start(t, srv, tc.user, tc.pass, tc.journey, tc.body); st != tc.status {
			t.Errorf("%s: status %d (%s); want %d", tc.name, st, body, tc.status)
		}
	}

	body := fmt.Sprintf(`{"user":"alice","message":"Anmeldung bei Portal","language_code":"de","ip_address":"203.0.113.25","user_agent":%q,"callback_url":%q}`, chromeWindows, rcv.URL+"/authd")
	st, out := start(t, srv, "portal", portalSecret, "portal_push", body)
	if st != http.StatusOK {
		t.Fatalf("start: %d %s", st, out)
	}
	var started api.PortalStarted
	if err := json.Unmarshal([]byte(out), &started); err != nil || started.Session == "" || started.Status != "pending" {
		t.Fatalf("start answered %s", out)
	}

	ps, err := phone.Pending(context.Background(), acct, 0)
	if err != nil || len(ps) != 1 {
		t.Fatalf("pending: %v %+v", err, ps)
	}
	want := "Anmeldung bei Portal Gerät: Windows Chrome, Ort: CH, Zurich, Winterthur"
	if ps[0].Message != want {
		t.Errorf("the phone shows %q; want %q", ps[0].Message, want)
	}
	if ps[0].Context["ip"] != "203.0.113.25" {
		t.Errorf("push context %v; want the portal user's address", ps[0].Context)
	}
	if _, err := phone.Respond(context.Background(), acct, ps[0], authenticator.Answer{Approve: true}); err != nil {
		t.Fatalf("approve: %v", err)
	}

	var res portal.Result
	select {
	case res = <-results:
	case <-time.After(60 * time.Second):
		t.Fatal("no callback arrived")
	}
	if res.Outcome != "success" || res.User != "alice" || res.Session != started.Session || res.Journey != "portal_push" {
		t.Errorf("callback %+v", res)
	}
	authMu.Lock()
	if len(auths) != 1 || auths[0] != "authd:"+callbackPassword {
		t.Errorf("callback basic auth %q", auths)
	}
	authMu.Unlock()
	if p, err := storeLog.Query(audit.Query{Kind: audit.KindJourney, User: "alice"}); err != nil || len(p.Entries) == 0 || p.Entries[len(p.Entries)-1].Journey != "portal_push" {
		t.Errorf("the journey's end is not in the audit log: %v %+v", err, p)
	}
	for _, e := range al.kind(portal.KindCallback) {
		if e.Result != "success" || e.Detail["attempt"] != "1" {
			t.Errorf("callback audit %+v", e)
		}
	}
}

func enrol(t *testing.T, srv *httptest.Server, phone *authenticator.Client) *authenticator.Account {
	t.Helper()
	r := journeyAPI(t, srv, "enroll", map[string]any{})
	r = journeyAPI(t, srv, "enroll", map[string]any{"session": r["session"], "callbacks": []map[string]string{{"id": "username", "value": "alice"}, {"id": "password", "value": "pw-alice"}}})
	var uri string
	cbs, _ := r["callbacks"].([]any)
	for _, c := range cbs {
		if m, _ := c.(map[string]any); m["type"] == engine.CallbackQR {
			uri, _ = m["uri"].(string)
		}
	}
	if uri == "" {
		t.Fatalf("no QR code: %v", r)
	}
	a, err := phone.Enroll(context.Background(), uri, authenticator.EnrollOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r := journeyAPI(t, srv, "enroll", map[string]any{"session": r["session"], "callbacks": []map[string]string{}}); r["outcome"] != "success" {
		t.Fatalf("enrolment: %v", r)
	}
	return a
}

func journeyAPI(t *testing.T, srv *httptest.Server, journey string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := srv.Client().Post(srv.URL+"/api/v1/realms/corp/journeys/"+journey+"/authenticate", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out
}

func start(t *testing.T, srv *httptest.Server, user, pass, journey, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/realms/corp/journeys/"+journey+"/start", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
