package push_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
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
	"github.com/authd/authd/engine/devices"
	"github.com/authd/authd/engine/logtest"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/engine/users"
	_ "github.com/authd/authd/nodes"
	"github.com/authd/authd/protocols/api"
	"github.com/authd/authd/protocols/push"
	"github.com/authd/authd/protocols/push/authenticator"
	"github.com/authd/authd/protocols/push/wire"
)

// testClock is the engine's and the push service's clock; tests move it
// to expire pushes without sleeping.
type testClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.off)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// journeyHCL is the push journey of the tests: password, then a push
// (registering a device first when the user has none), PingAM style.
const journeyHCL = `
realm "corp" {
  display_name    = "Example Corp"
  enrollment_mode = "%MODE%"
  push_providers  = [%PROVIDERS%]
}

push_provider "poll" "poll" {}
%EXTRA%

journey "login" {
  realm = realm.corp
  start = node.login

  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = node.push, failure = failure, locked = failure }
  }
  node "push_sender" "push" {
    push_type       = "%TYPE%"
    message_timeout = "60s"
    user_message    = { en = "Sign in as {{user}} at {{issuer}}?" }
    share_context   = %SHARE%
    remove_skip     = true
    capture_failure = true
    outcomes = { sent = node.wait, not_registered = node.register, failure = failure }
  }
  node "push_registration" "register" {
    outcomes = { success = node.push, failure = failure, timeout = failure }
  }
  node "push_wait" "wait" {
    seconds  = 5
    outcomes = { done = node.verify, exit = failure }
  }
  node "push_result_verifier" "verify" {
    outcomes = { success = success, failure = failure, expired = node.push, waiting = node.wait }
  }
}

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
`

type setup struct {
	mode      string // enrollment_mode
	pushType  string
	providers string // the realm's push_providers list
	extra     string // more push_provider blocks (or a server block)
	kv        store.KV
	opts      []push.Option
	// noContext sets share_context = false in the login journey.
	noContext bool
	// configURL leaves the public URL to the configuration (extra's
	// server block) instead of the test server's address; the software
	// authenticator then reaches the test server whatever host a URL
	// names.
	configURL bool
}

type harness struct {
	t     testing.TB
	clock *testClock
	eng   *engine.Engine
	svc   *push.Service
	srv   *httptest.Server
	kv    store.KV
	auth  *authenticator.Client
	logs  *logtest.Buffer

	auditMu sync.Mutex
	audits  []audit.Entry
}

// audited returns the audit entries of kind recorded so far.
func (h *harness) audited(kind string) []audit.Entry {
	h.auditMu.Lock()
	defer h.auditMu.Unlock()
	var out []audit.Entry
	for _, e := range h.audits {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func loadConfig(t testing.TB, s setup) *dsl.Config {
	t.Helper()
	share := "true"
	if s.noContext {
		share = "false"
	}
	src := strings.NewReplacer("%MODE%", s.mode, "%TYPE%", s.pushType, "%PROVIDERS%", s.providers, "%EXTRA%", s.extra, "%SHARE%", share).Replace(journeyHCL)
	cfg, diags := dsl.LoadSources(map[string][]byte{"authd.hcl": []byte(src)}, t.TempDir(), dsl.Options{})
	if diags.HasErrors() {
		t.Fatalf("config: %v", diags)
	}
	return cfg
}

func newHarness(t testing.TB, s setup) *harness {
	t.Helper()
	if s.mode == "" {
		s.mode = "multiple_devices"
	}
	if s.pushType == "" {
		s.pushType = "challenge"
	}
	if s.providers == "" {
		s.providers = "push_provider.poll"
	}
	if s.kv == nil {
		s.kv = memstore.New()
	}
	cfg := loadConfig(t, s)
	h := &harness{t: t, clock: &testClock{}, kv: s.kv, logs: &logtest.Buffer{}}
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.eng = engine.New(engine.Options{KV: s.kv, Clock: h.clock, Log: log, Audit: audit.Func(func(_ context.Context, e audit.Entry) {
		h.auditMu.Lock()
		h.audits = append(h.audits, e)
		h.auditMu.Unlock()
	})})
	h.eng.Load(cfg.Program)
	mux := http.NewServeMux()
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	opts := s.opts
	if !s.configURL {
		opts = append([]push.Option{push.WithPublicURL(h.srv.URL)}, opts...)
	}
	svc, err := push.New(h.eng, s.kv, cfg, log, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	h.svc = svc
	mux.Handle("/api/v1/push/", svc.Handler())
	mux.Handle("/", api.New(h.eng, log))
	h.auth = &authenticator.Client{HTTP: h.srv.Client(), Now: h.clock.Now}
	if s.configURL {
		addr := h.srv.Listener.Addr().String()
		tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
		t.Cleanup(tr.CloseIdleConnections)
		h.auth.HTTP = &http.Client{Transport: tr}
	}
	repo := users.NewRepo(s.kv)
	for _, name := range []string{"alice", "bob"} {
		// A cheap bcrypt hash keeps logins fast (argon2id under -race
		// takes seconds), so the timings the tests check are the push's.
		hash, _ := bcrypt.GenerateFromPassword([]byte("pw-"+name), bcrypt.MinCost)
		if err := repo.Create(&users.User{Realm: "corp", Name: name, PasswordHash: string(hash), Created: time.Now(), Updated: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// reply is a journey API answer, suspended or finished.
type reply struct {
	Session   string            `json:"session"`
	Node      string            `json:"node"`
	Callbacks []engine.Callback `json:"callbacks"`
	Outcome   string            `json:"outcome"`
	User      string            `json:"user"`
	Error     string            `json:"error"`
	status    int
}

func (r *reply) cb(typ string) *engine.Callback {
	for i := range r.Callbacks {
		if r.Callbacks[i].Type == typ {
			return &r.Callbacks[i]
		}
	}
	return nil
}

func (h *harness) api(journey string, body any) *reply {
	h.t.Helper()
	b, _ := json.Marshal(body)
	resp, err := h.srv.Client().Post(h.srv.URL+"/api/v1/realms/corp/journeys/"+journey+"/authenticate", "application/json", bytes.NewReader(b))
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var r reply
	if err := json.Unmarshal(raw, &r); err != nil {
		h.t.Fatalf("API answered %s", raw)
	}
	r.status = resp.StatusCode
	return &r
}

// login starts journey and answers the credentials.
func (h *harness) login(journey, user string) *reply {
	h.t.Helper()
	r := h.api(journey, map[string]any{})
	if r.Node != "login" {
		h.t.Fatalf("start: %+v", r)
	}
	return h.api(journey, map[string]any{"session": r.Session, "callbacks": []map[string]string{
		{"id": "username", "value": user}, {"id": "password", "value": "pw-" + user},
	}})
}

// poll comes back to a waiting session (a wait callback without a value).
func (h *harness) poll(journey string, r *reply) *reply {
	h.t.Helper()
	return h.api(journey, map[string]any{"session": r.Session, "callbacks": []map[string]string{}})
}

func (h *harness) exit(journey string, r *reply) *reply {
	h.t.Helper()
	return h.api(journey, map[string]any{"session": r.Session, "callbacks": []map[string]string{{"id": "wait", "value": "exit"}}})
}

// enrol runs the enrolment journey for user and enrols a poll device.
func (h *harness) enrol(user string) *authenticator.Account {
	h.t.Helper()
	r := h.login("enroll", user)
	qr := r.cb(engine.CallbackQR)
	if r.Node != "register" || qr == nil {
		h.t.Fatalf("enrol journey: %+v", r)
	}
	a, err := h.auth.Enroll(context.Background(), qr.URI, authenticator.EnrollOptions{})
	if err != nil {
		h.t.Fatalf("enrol: %v", err)
	}
	if r := h.poll("enroll", r); r.Outcome != "success" {
		h.t.Fatalf("after enrolment: %+v", r)
	}
	return a
}

// pending fetches the device's pending pushes and wants exactly n.
func (h *harness) pending(a *authenticator.Account, n int) []wire.PendingPush {
	h.t.Helper()
	ps, err := h.auth.Pending(context.Background(), a, 0)
	if err != nil {
		h.t.Fatalf("pending: %v", err)
	}
	if len(ps) != n {
		h.t.Fatalf("%d pending pushes, want %d: %+v", len(ps), n, ps)
	}
	return ps
}

func (h *harness) push(id string) *devices.Push {
	h.t.Helper()
	p, err := devices.New(h.kv).Push(id, h.clock.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

func serverCode(err error) string {
	if se, ok := err.(*authenticator.ServerError); ok {
		return se.Code
	}
	if err == nil {
		return ""
	}
	return "error: " + err.Error()
}

func httpRequest(method, u, auth string) (*http.Request, error) {
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		return nil, err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return req, nil
}

func newMemKV() store.KV { return memstore.New() }
