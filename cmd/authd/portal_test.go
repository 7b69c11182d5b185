package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/clientinfo/geotest"
	"github.com/authd/authd/engine/store/memstore"
)

const (
	portalSecret       = "portal-secret-value"
	portalCallbackPass = "portal-callback-password-value"
	portalChromeUA     = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.0.0 Safari/537.36"
)

// portalReceiver is the portal's callback endpoint: it records every
// callback and refuses the first fail ones with 503 (and every one while
// down is set), so authd must retry.
type portalReceiver struct {
	mu      sync.Mutex
	fail    int
	down    bool
	calls   int
	auths   []string
	results []map[string]any
}

func (p *portalReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u, pw, _ := r.BasicAuth()
	var res map[string]any
	err := json.NewDecoder(r.Body).Decode(&res)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	p.auths = append(p.auths, u+":"+pw)
	if err != nil || r.URL.Path != "/authd/result" {
		http.Error(w, "bad callback", http.StatusBadRequest)
		return
	}
	if p.calls <= p.fail || p.down {
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	p.results = append(p.results, res)
}

// waitResult polls until n callbacks were accepted and returns the n-th.
func (p *portalReceiver) waitResult(t *testing.T, s *runningServer, n int) (map[string]any, int, []string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		if len(p.results) >= n {
			defer p.mu.Unlock()
			return p.results[n-1], p.calls, append([]string(nil), p.auths...)
		}
		p.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("callback %d never accepted:\n%s", n, s.output())
	return nil, 0, nil
}

// waitCalls polls until the receiver was called n times.
func (p *portalReceiver) waitCalls(t *testing.T, s *runningServer, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		calls := p.calls
		p.mu.Unlock()
		if calls >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("callback attempt %d never came:\n%s", n, s.output())
}

func (p *portalReceiver) setDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
}

// portalConfig is examples/portal on a free port, without public_url,
// with the test's callback URL and geoip database, and a second client
// that may call only from elsewhere.
func portalConfig(t *testing.T, dir, callback, geo string) string {
	t.Helper()
	b, err := os.ReadFile("../../examples/portal/authd.hcl")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(b), `listen = "127.0.0.1:9000"`, `listen = "127.0.0.1:0"`, 1)
	src = regexp.MustCompile(`(?m)^\s*public_url\s*=.*$`).ReplaceAllString(src, "")
	for old, new := range map[string]string{
		`"http://127.0.0.1:8081/authd/result"`:    fmt.Sprintf("%q", callback),
		`# geoip_database = "GeoLite2-City.mmdb"`: fmt.Sprintf("geoip_database = %q", geo),
	} {
		if !strings.Contains(src, old) {
			t.Fatalf("examples/portal/authd.hcl no longer holds %s", old)
		}
		src = strings.Replace(src, old, new, 1)
	}
	src += `
api_client "remote" {
  secret      = env("PORTAL_SECRET")
  allowed_ips = ["192.0.2.0/24"]
  journeys    = [journey.portal_push]
}
`
	writeFiles(t, dir, map[string]string{"authd.hcl": src})
	return src
}

// portalStart calls the start endpoint with basic auth.
func portalStart(t *testing.T, addr, user, pass, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/realms/corp/journeys/portal_push/start", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("start answered %d %q", resp.StatusCode, data)
	}
	return resp.StatusCode, out
}

// TestPortalStartAndCallback is examples/portal served by authd run: the
// user registers a phone, the portal starts a push for her with basic auth,
// the phone shows the secure message (device and location from the test
// geoip database) and approves, and the result reaches the portal's
// callback server with the callback's basic auth, after one refused
// attempt; a result still undelivered when authd stops is delivered after
// the restart. A wrong secret and a client calling from outside its
// allowed_ips are refused; a reload that drops the address refuses the
// portal too.
func TestPortalStartAndCallback(t *testing.T) {
	rcv := &portalReceiver{fail: 1}
	cbSrv := httptest.NewServer(rcv)
	defer cbSrv.Close()
	callback := cbSrv.URL + "/authd/result"

	dir := shortDir(t)
	geo := geotest.Write(t, geotest.Place{Network: "203.0.113.0/24", CountryCode: "CH", Region: "Zurich", City: "Winterthur"})
	src := portalConfig(t, dir, callback, geo)
	vars := []string{"PORTAL_SECRET=" + portalSecret, "PORTAL_CALLBACK_PASSWORD=" + portalCallbackPass}
	e := env{dir: dir, vars: vars, stdin: "pw-alice-123\n"}
	e.run(t, "user", "add", "-realm", "corp", "-password-stdin", "alice").want(t, 0, []string{"added user alice"}, nil)
	e.stdin = ""
	srv := e.startServer(t)

	// alice registers her phone (authd authenticator) with the enroll journey.
	state := filepath.Join(dir, "phone.json")
	api := fmt.Sprintf("http://%s/api/v1/realms/corp/journeys/enroll/authenticate", srv.addr)
	r := postJSON(t, api, map[string]any{})
	session := r["session"]
	r = postJSON(t, api, map[string]any{"session": session, "callbacks": []map[string]any{{"id": "username", "value": "alice"}, {"id": "password", "value": "pw-alice-123"}}})
	uri := ""
	for _, c := range r["callbacks"].([]any) {
		if m := c.(map[string]any); m["type"] == "qr" {
			uri, _ = m["uri"].(string)
		}
	}
	if uri == "" {
		t.Fatalf("no enrolment QR code: %v", r)
	}
	env{dir: dir, stdin: uri + "\n"}.run(t, "authenticator", "enroll", "-state", state, "-").want(t, 0, []string{"enrolled alice@corp"}, nil)
	if r = postJSON(t, api, map[string]any{"session": session, "callbacks": []map[string]any{}}); r["outcome"] != "success" {
		t.Fatalf("enrolment: %v", r)
	}

	// The journey the portal starts is not started by anyone else: the
	// public journey API refuses it (authd run wires the portal's clients in).
	resp, err := http.Post(fmt.Sprintf("http://%s/api/v1/realms/corp/journeys/portal_push/authenticate", srv.addr), "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("portal_push started through the public journey API: %d, want 403", resp.StatusCode)
	}

	body := fmt.Sprintf(`{"user":"alice","message":"Anmeldung beim Portal","language_code":"de","ip_address":"203.0.113.25","user_agent":%q,"callback_url":%q}`, portalChromeUA, callback)
	for _, tc := range []struct {
		name, user, pass string
		status           int
		errCode          string
	}{
		{"wrong secret", "portal", "not-the-secret", http.StatusUnauthorized, "unauthorized"},
		{"unknown client", "nobody", portalSecret, http.StatusUnauthorized, "unauthorized"},
		{"address not allowed", "remote", portalSecret, http.StatusForbidden, "forbidden"},
	} {
		if st, out := portalStart(t, srv.addr, tc.user, tc.pass, body); st != tc.status || out["error"] != tc.errCode {
			t.Errorf("%s: %d %v; want %d %s", tc.name, st, out, tc.status, tc.errCode)
		}
	}

	st, out := portalStart(t, srv.addr, "portal", portalSecret, body)
	if st != http.StatusOK || out["status"] != "pending" || out["session"] == "" {
		t.Fatalf("start: %d %v", st, out)
	}
	// The phone shows the secure message, then approves.
	ue := env{dir: dir}
	ue.run(t, "authenticator", "pending", "-state", state).
		want(t, 0, []string{"Anmeldung beim Portal Gerät: Windows Chrome, Ort: CH, Zurich, Winterthur"}, nil)
	ue.run(t, "authenticator", "approve", "-state", state).want(t, 0, []string{"approved the sign-in of alice@corp"}, nil)

	res, calls, auths := rcv.waitResult(t, srv, 1)
	if res["outcome"] != "success" || res["user"] != "alice" || res["journey"] != "portal_push" || res["session"] != out["session"] {
		t.Errorf("callback %v; want alice's success for session %v", res, out["session"])
	}
	if calls != 2 {
		t.Errorf("%d callback attempts; want 2 (one refused, one accepted)", calls)
	}
	for _, a := range auths {
		if a != "authd:"+portalCallbackPass {
			t.Errorf("callback basic auth %q", a)
		}
	}
	audit := ue.run(t, "audit", "-kind", "callback")
	audit.want(t, 0, []string{"retrying", "delivered to api_client portal on attempt 2"}, nil)
	for _, s := range []string{portalSecret, portalCallbackPass} {
		if strings.Contains(srv.output()+audit.stdout, s) {
			t.Fatalf("a secret is in the log or audit:\n%s", srv.output())
		}
	}

	// A result the portal did not take before authd stopped is delivered
	// after the restart.
	rcv.setDown(true)
	st, out = portalStart(t, srv.addr, "portal", portalSecret, body)
	if st != http.StatusOK || out["status"] != "pending" {
		t.Fatalf("second start: %d %v", st, out)
	}
	ue.run(t, "authenticator", "approve", "-state", state).want(t, 0, []string{"approved the sign-in of alice@corp"}, nil)
	rcv.waitCalls(t, srv, 3)
	if code := srv.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	rcv.setDown(false)
	srv = e.startServer(t)
	if res, _, _ := rcv.waitResult(t, srv, 2); res["outcome"] != "success" || res["session"] != out["session"] {
		t.Errorf("callback after the restart %v; want the success of session %v", res, out["session"])
	}

	// A reload that drops the loopback address refuses the portal at once.
	writeFiles(t, dir, map[string]string{"authd.hcl": strings.Replace(src, `allowed_ips = ["127.0.0.1", "::1", "10.20.0.0/16"]`, `allowed_ips = ["10.20.0.0/16"]`, 1)})
	srv.cmd.Process.Signal(syscall.SIGHUP)
	srv.waitLog(`msg="configuration reloaded" trigger=SIGHUP`, 1)
	if st, out := portalStart(t, srv.addr, "portal", portalSecret, body); st != http.StatusForbidden {
		t.Errorf("after the reload: %d %v; want 403", st, out)
	}
	if code := srv.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestPortalFrontLoad: clients naming one geoip file share one database,
// an unchanged file is not read again on a reload, a changed one is, and a
// file that is no database refuses the configuration and keeps the running
// clients.
func TestPortalFrontLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "geo.mmdb")
	copyFile := func(from string) {
		t.Helper()
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(geotest.Write(t, geotest.Place{Network: "203.0.113.0/24", CountryCode: "CH", Region: "Zurich", City: "Winterthur"}))
	cfg := func() *dsl.Config {
		return &dsl.Config{APIClients: map[string]*dsl.APIClient{
			"a": {Name: "a", GeoIPDatabase: path},
			"b": {Name: "b", GeoIPDatabase: path, MessageTemplates: map[string]string{"de": "[message] [city]"}},
			"c": {Name: "c"},
		}}
	}
	p := newPortalFront(memstore.New(), audit.Discard, slog.New(slog.DiscardHandler))
	first := cfg()
	if err := p.Load(first); err != nil {
		t.Fatal(err)
	}
	cur := p.cur.Load()
	db := cur.composers["a"].Geo
	if db == nil || cur.composers["b"].Geo != db || cur.composers["c"].Geo != nil {
		t.Fatalf("composers %+v %+v %+v; want a and b to share one database, c none", cur.composers["a"], cur.composers["b"], cur.composers["c"])
	}
	if err := p.Load(cfg()); err != nil {
		t.Fatal(err)
	}
	if p.cur.Load().composers["a"].Geo != db {
		t.Error("an unchanged file was read again")
	}

	copyFile(geotest.Write(t,
		geotest.Place{Network: "203.0.113.0/24", CountryCode: "CH", Region: "Zurich", City: "Winterthur"},
		geotest.Place{Network: "198.51.100.0/24", CountryCode: "DE", Region: "Bavaria", City: "Munich"}))
	if err := p.Load(cfg()); err != nil {
		t.Fatal(err)
	}
	next := p.cur.Load().composers["a"].Geo
	if next == db {
		t.Fatal("a changed file was not read again")
	}
	if c, _, _, err := next.Lookup("198.51.100.7"); c != "DE" || err != nil {
		t.Errorf("the new database answers %q %v", c, err)
	}

	running := p.cur.Load()
	if err := os.WriteFile(path, []byte("not a database, but longer than the old one to change its size"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.Load(cfg()); err == nil || !strings.Contains(err.Error(), `api_client "a"`) {
		t.Fatalf("Load of a broken database = %v; want an error naming the client", err)
	}
	if p.cur.Load() != running {
		t.Error("a refused configuration replaced the running clients")
	}
}
