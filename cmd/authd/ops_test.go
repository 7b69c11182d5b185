package main

// Tests of running authd for real: the audit log and its command,
// health, readiness and metrics, abuse limits, and the faults an operator
// meets (kill -9, a damaged or newer store, a second instance).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"layeh.com/radius"

	"github.com/authd/authd/protocols/push/authenticator"
	"github.com/authd/authd/protocols/push/wire"
)

// apiPost sends one journey API request and returns the status and body.
func apiPost(t *testing.T, base, realm, journey string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	url := fmt.Sprintf("http://%s/api/v1/realms/%s/journeys/%s/authenticate", base, realm, journey)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, data)
	}
	return resp.StatusCode, out
}

// answerAll fills every callback of a suspended answer from values by
// callback type ("wait" answers "" to keep waiting).
func answerAll(t *testing.T, resp map[string]any, values map[string]string) map[string]any {
	t.Helper()
	cbs, _ := resp["callbacks"].([]any)
	var answers []map[string]any
	for _, c := range cbs {
		cb := c.(map[string]any)
		typ, _ := cb["type"].(string)
		switch typ {
		case "text", "qr":
			continue
		}
		v, ok := values[typ]
		if !ok {
			t.Fatalf("no value for callback %v", cb)
		}
		answers = append(answers, map[string]any{"id": cb["id"], "value": v})
	}
	return map[string]any{"session": resp["session"], "callbacks": answers}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAuditLogAndCommand(t *testing.T) {
	e := userEnv(t)
	e.stdin = "alice-pass\n"
	e.run(t, "user", "add", "-realm", "corp", "-password-stdin", "alice").want(t, 0, nil, nil)
	e.stdin = ""
	// Without a server the command reads the store itself.
	e.run(t, "audit").want(t, 0, []string{"admin success corp/alice", "op=user.add", "frontend=cli"}, nil)

	s := e.startServer(t)
	login(t, s.addr, "corp", "login", "alice", "alice-pass")
	login(t, s.addr, "corp", "login", "alice", "wrong")
	login(t, s.addr, "corp", "login", "mallory", "x")

	r := e.run(t, "audit", "-user", "alice", "-kind", "journey", "-format", "json")
	r.want(t, 0, nil, nil)
	var entries []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		entries = append(entries, m)
	}
	if len(entries) != 2 {
		t.Fatalf("want alice's two journeys, got:\n%s", r.stdout)
	}
	ok, bad := entries[0], entries[1]
	if ok["result"] != "success" || ok["reason"] != "authentication with password successful" ||
		ok["realm"] != "corp" || ok["journey"] != "login" || ok["frontend"] != "api" || ok["client"] != "127.0.0.1" ||
		fmt.Sprint(ok["path"]) != "[creds check]" || ok["request_id"] == nil {
		t.Fatalf("success entry: %v", ok)
	}
	if bad["result"] != "failure" || !strings.Contains(bad["reason"].(string), "failed at check") {
		t.Fatalf("failure entry: %v", bad)
	}
	e.run(t, "audit", "-since", "1h").want(t, 0, []string{"journey failure corp/mallory", "config success"}, nil)
	e.run(t, "audit", "-since", "yesterday").want(t, 2, nil, []string{"-since"})
	e.run(t, "audit", "-kind", "jorney").want(t, 2, nil, []string{`-kind must be one of`, "push_reported", `not "jorney"`})
	if strings.Contains(s.output(), "alice-pass") {
		t.Fatal("a password reached the log")
	}
	if !strings.Contains(s.output(), `msg=audit kind=journey result=success realm=corp user=alice`) {
		t.Fatalf("the audit entry is not mirrored in the log:\n%s", s.output())
	}

	// -follow prints what is written while it runs.
	f := e.command("audit", "-follow", "-kind", "journey")
	out, err := f.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	seen := 0
	for seen < 3 { // the three journeys so far
		select {
		case <-lines:
			seen++
		case <-time.After(10 * time.Second):
			t.Fatal("audit -follow printed nothing")
		}
	}
	e.stdin = "bob-pass\n"
	e.run(t, "user", "add", "-realm", "corp", "-password-stdin", "bob").want(t, 0, nil, nil)
	e.stdin = ""
	login(t, s.addr, "corp", "login", "bob", "bob-pass")
	select {
	case l := <-lines:
		if !strings.Contains(l, "journey success corp/bob") {
			t.Fatalf("followed: %q", l)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("audit -follow did not print the new journey")
	}
	f.Process.Signal(syscall.SIGINT)
	if err := f.Wait(); err != nil {
		t.Fatalf("audit -follow after SIGINT: %v", err)
	}
	e.run(t, "audit", "-kind", "admin").want(t, 0, []string{"corp/bob frontend=admin", "actor=\"uid "}, nil)
	s.stop()
}

func TestHealthReadinessMetrics(t *testing.T) {
	e := userEnv(t)
	e.stdin = "alice-pass\n"
	e.run(t, "user", "add", "-realm", "corp", "-password-stdin", "alice").want(t, 0, nil, nil)
	s := e.startServer(t)
	base := "http://" + s.addr
	if code, body := httpGet(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz: %d %q", code, body)
	}
	code, body := httpGet(t, base+"/readyz")
	if code != 200 || !strings.Contains(body, `"status":"ready"`) || !strings.Contains(body, `"store":"ok"`) {
		t.Fatalf("readyz: %d %s", code, body)
	}
	login(t, s.addr, "corp", "login", "alice", "alice-pass")
	_, m := apiPost(t, s.addr, "corp", "login", map[string]any{}) // one left suspended
	if m["session"] == nil {
		t.Fatalf("%v", m)
	}
	code, body = httpGet(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	for _, want := range []string{
		`authd_journeys_total{journey="login",node="check",outcome="success"} 1`,
		`authd_requests_total{frontend="api",result="success"} 1`,
		`authd_node_duration_seconds_bucket{journey="login",node="check",type="password_check"`,
		`authd_sessions_pending 1`,
		`authd_store_tx_duration_seconds_count{op="batch"}`,
		`authd_audit_entries_total{kind="journey"} 1`,
		`authd_config_info{revision=`,
		`authd_build_info{goversion=`,
		`go_goroutines`, `process_resident_memory_bytes`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "alice") {
		t.Error("a user name reached the metrics")
	}
	s.stop()

	s = e.startServer(t, "-metrics=false")
	if code, _ := httpGet(t, "http://"+s.addr+"/metrics"); code != 404 {
		t.Fatalf("-metrics=false still serves /metrics: %d", code)
	}
	s.stop()
}

func TestRunAbuseLimits(t *testing.T) {
	e := userEnv(t)
	e.stdin = "alice-pass\n"
	e.run(t, "user", "add", "-realm", "corp", "-password-stdin", "alice").want(t, 0, nil, nil)
	e.run(t, "run", "-rate-limit-ip", "lots").want(t, 2, nil, []string{"-rate-limit-ip"})
	s := e.startServer(t, "-rate-limit-ip", "6/1h", "-rate-limit-user", "2/1h")

	// Two wrong passwords, then alice is refused even with the right one.
	for i := 0; i < 2; i++ {
		_, m := apiPost(t, s.addr, "corp", "login", map[string]any{})
		if _, m = apiPost(t, s.addr, "corp", "login", answerAll(t, m, map[string]string{"name": "alice", "password": "nope"})); m["outcome"] != "failure" {
			t.Fatalf("guess %d: %v", i, m)
		}
	}
	_, m := apiPost(t, s.addr, "corp", "login", map[string]any{})
	code, m := apiPost(t, s.addr, "corp", "login", answerAll(t, m, map[string]string{"name": "alice", "password": "alice-pass"}))
	if code != 429 || m["error"] != "rate_limited" {
		t.Fatalf("third guess: %d %v", code, m)
	}
	// The address has used its 6 requests: the next one is refused, but
	// probes are not limited.
	b, _ := json.Marshal(map[string]any{})
	resp, err := http.Post("http://"+s.addr+"/api/v1/realms/corp/journeys/login/authenticate", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the address limit: %d Retry-After=%q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if code, _ := httpGet(t, "http://"+s.addr+"/readyz"); code != 200 {
		t.Fatalf("readyz limited: %d", code)
	}
	// A body over the cap is refused without being read whole.
	big := bytes.Repeat([]byte("a"), 2<<20)
	resp, err = http.Post("http://"+s.addr+"/api/v1/realms/corp/journeys/login/authenticate", "application/json", bytes.NewReader(big))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != 400 && resp.StatusCode != 429 {
			t.Fatalf("2 MiB body: %d", resp.StatusCode)
		}
	}
	s.stop()
}

// TestSlowClientIsCut: a client that trickles its headers is disconnected
// after the read-header timeout, and the server keeps serving.
func TestSlowClientIsCut(t *testing.T) {
	old := readHeaderTimeout
	readHeaderTimeout = 200 * time.Millisecond
	defer func() { readHeaderTimeout = old }()
	srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }), discardLogger())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	io.Copy(io.Discard, c) // returns when the server closes the connection
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("the slow client was cut only after %v", el)
	}
	if code, _ := httpGet(t, "http://"+ln.Addr().String()+"/"); code != 200 {
		t.Fatal("server stopped serving")
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// freePort returns a loopback address nobody listens on (for a server
// that must come back on the same port after a restart).
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// pushConfig is goodConfig with a poll push provider, a registration
// journey and a login journey that asks for a push after the password,
// on a fixed address so devices find the server after a restart.
func pushConfig(addr string) string {
	return fmt.Sprintf(`server {
  http {
    listen     = %q
    public_url = "http://%s"
  }
}

realm "corp" {
  display_name    = "Example Corp"
  enrollment_mode = "single_device"
  push_providers  = [push_provider.poll]
}

push_provider "poll" "poll" {}

journey "enroll" {
  realm = realm.corp
  start = node.creds
  node "credentials" "creds" {
    next = node.check
  }
  node "password_check" "check" {
    outcomes = { success = node.reg, failure = failure, locked = failure }
  }
  node "push_registration" "reg" {
    timeout  = "5m"
    outcomes = { success = success, failure = failure, timeout = failure }
  }
}

journey "login" {
  realm           = realm.corp
  start           = node.creds
  session_timeout = "10m"
  node "credentials" "creds" {
    next = node.check
  }
  node "password_check" "check" {
    outcomes = { success = node.confirm, failure = failure, locked = failure }
  }
  node "choice" "confirm" {
    options  = ["push", "cancel"]
    outcomes = { push = node.push, cancel = failure }
  }
  node "push_sender" "push" {
    message_timeout = "5m"
    remove_skip     = true
    outcomes        = { sent = node.wait, not_registered = failure }
  }
  node "push_wait" "wait" {
    seconds  = 5
    outcomes = { done = node.verify, exit = failure }
  }
  node "push_result_verifier" "verify" {
    outcomes = { success = success, failure = failure, expired = failure, waiting = node.wait }
  }
}
`, addr, addr)
}

// TestKill9 kills authd while sessions wait at every kind of step and a
// push is pending, restarts it, and finishes every login: sessions live
// in the store, and a late push answer still completes the login.
func TestKill9(t *testing.T) {
	e, addr, s := startPushServer(t)
	ctx := context.Background()

	dev, acct := enrolDevice(t, s.addr)

	// Sessions at the credentials, at the choice, and one waiting for
	// the push.
	const n = 10
	var atCreds, atChoice []map[string]any
	for i := 0; i < n; i++ {
		_, m := apiPost(t, s.addr, "corp", "login", map[string]any{})
		atCreds = append(atCreds, m)
		_, m = apiPost(t, s.addr, "corp", "login", map[string]any{})
		_, m = apiPost(t, s.addr, "corp", "login", answerAll(t, m, map[string]string{"name": "alice", "password": "alice-pass"}))
		if m["node"] != "confirm" {
			t.Fatalf("not at the choice: %v", m)
		}
		atChoice = append(atChoice, m)
	}
	waiting := aliceWaitsForPush(t, s.addr)

	// kill -9: no shutdown, no flush beyond what was committed.
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.done
	s = e.startServer(t, "-rate-limit-user", "0")
	if s.addr != addr {
		t.Fatalf("restarted on %s, not %s", s.addr, addr)
	}

	// The late answer: the phone approves after the restart.
	pending, err := dev.Pending(ctx, acct, 0)
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending after restart: %v %v", pending, err)
	}
	if _, err := dev.Respond(ctx, acct, pending[0], authenticator.Answer{Approve: true}); err != nil {
		t.Fatal(err)
	}
	if _, m := apiPost(t, s.addr, "corp", "login", answerAll(t, waiting, map[string]string{"wait": ""})); m["outcome"] != "success" || m["user"] != "alice" {
		t.Fatalf("the push answered after the restart did not complete the login: %v", m)
	}
	for i := 0; i < n; i++ {
		_, m := apiPost(t, s.addr, "corp", "login", answerAll(t, atChoice[i], map[string]string{"choice": "cancel"}))
		if m["outcome"] != "failure" {
			t.Fatalf("session %d at the choice: %v", i, m)
		}
		_, m = apiPost(t, s.addr, "corp", "login", answerAll(t, atCreds[i], map[string]string{"name": "alice", "password": "alice-pass"}))
		if m["node"] != "confirm" {
			t.Fatalf("session %d at the credentials: %v", i, m)
		}
	}
	e.run(t, "audit", "-kind", "journey", "-user", "alice").want(t, 0,
		[]string{"reason=\"authentication with password+push successful (chosen push)\""}, nil)
	e.run(t, "audit", "-kind", "enrollment").want(t, 0, []string{"enrollment success corp/alice", "push device enrolled"}, nil)
	s.stop()
}

// startPushServer runs authd on pushConfig at a fixed address (so a
// restart can come back on it) with alice as a user.
func startPushServer(t *testing.T) (env, string, *runningServer) {
	t.Helper()
	addr := freePort(t)
	e := env{dir: configDir(t, map[string]string{"authd.hcl": pushConfig(addr)})}
	e.stdin = "alice-pass\n"
	e.run(t, "user", "add", "-realm", "corp", "-password-stdin", "alice").want(t, 0, nil, nil)
	e.stdin = ""
	// The tests log in more often than a person would.
	return e, addr, e.startServer(t, "-rate-limit-user", "0")
}

// aliceWaitsForPush logs alice in up to the push wait (pushConfig) and
// returns that suspension.
func aliceWaitsForPush(t *testing.T, addr string) map[string]any {
	t.Helper()
	_, m := apiPost(t, addr, "corp", "login", map[string]any{})
	_, m = apiPost(t, addr, "corp", "login", answerAll(t, m, map[string]string{"name": "alice", "password": "alice-pass"}))
	_, m = apiPost(t, addr, "corp", "login", answerAll(t, m, map[string]string{"choice": "push"}))
	if m["node"] != "wait" {
		t.Fatalf("not waiting for the push: %v", m)
	}
	return m
}

// TestParkedLongPolls: over HTTP/1.1 `authd run` parks a long poll (no
// goroutine held); the push answer still ends it at once with the
// outcome, on a connection that then closes, and SIGTERM answers a parked
// poll with the journey still waiting before authd exits cleanly.
func TestParkedLongPolls(t *testing.T) {
	_, _, s := startPushServer(t)
	dev, acct := enrolDevice(t, s.addr)
	ctx := context.Background()

	// longPoll sends the keep-waiting answer with ?wait=25s on its own
	// connection and delivers the reply.
	type reply struct {
		resp *http.Response
		body map[string]any
		err  error
	}
	longPoll := func(waiting map[string]any) <-chan reply {
		out := make(chan reply, 1)
		b, _ := json.Marshal(answerAll(t, waiting, map[string]string{"wait": ""}))
		go func() {
			url := fmt.Sprintf("http://%s/api/v1/realms/corp/journeys/login/authenticate?wait=25s", s.addr)
			resp, err := http.Post(url, "application/json", bytes.NewReader(b))
			if err != nil {
				out <- reply{err: err}
				return
			}
			defer resp.Body.Close()
			var m map[string]any
			err = json.NewDecoder(resp.Body).Decode(&m)
			out <- reply{resp: resp, body: m, err: err}
		}()
		return out
	}
	// waitParked polls /metrics until n long polls are parked.
	waitParked := func(n int) {
		t.Helper()
		want := fmt.Sprintf("authd_api_parked_requests %d\n", n)
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			resp, err := http.Get("http://" + s.addr + "/metrics")
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if strings.Contains(string(b), want) {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("never saw %q", want)
			}
		}
	}

	// The answer ends a parked poll with the outcome.
	done := longPoll(aliceWaitsForPush(t, s.addr))
	waitParked(1)
	pending, err := dev.Pending(ctx, acct, 25*time.Second)
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending: %v %v", pending, err)
	}
	if _, err := dev.Respond(ctx, acct, pending[0], authenticator.Answer{Approve: true}); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.resp.StatusCode != 200 || r.body["outcome"] != "success" {
		t.Fatalf("parked poll after the approval: %+v", r)
	}
	if !r.resp.Close || r.resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("a parked poll's reply: Connection close %v, X-Request-Id %q", r.resp.Close, r.resp.Header.Get("X-Request-Id"))
	}

	// SIGTERM answers a parked poll: still waiting.
	waiting := aliceWaitsForPush(t, s.addr)
	done = longPoll(waiting)
	waitParked(1)
	s.cmd.Process.Signal(syscall.SIGTERM)
	r = <-done
	if r.err != nil || r.resp.StatusCode != 200 || r.body["node"] != "wait" || r.body["session"] != waiting["session"] {
		t.Fatalf("parked poll at shutdown: %+v", r)
	}
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	if s.code != 0 || !strings.Contains(s.output(), "msg=stopped") || !strings.Contains(s.output(), "parked long polls answered before stopping") {
		t.Fatalf("exit %d:\n%s", s.code, s.output())
	}
}

func TestStoreFaultsAtStart(t *testing.T) {
	t.Run("newer schema", func(t *testing.T) {
		e := userEnv(t)
		path := filepath.Join(e.dir, "data", "authd.db")
		os.MkdirAll(filepath.Dir(path), 0o700)
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		db.Update(func(tx *bolt.Tx) error {
			b, _ := tx.CreateBucket([]byte("meta"))
			return b.Put([]byte("schema_version"), []byte("99"))
		})
		db.Close()
		e.run(t, "run").oneLineErr(t, "was created by a newer authd (schema 99)")
		e.run(t, "audit").oneLineErr(t, "newer authd")
	})
	t.Run("damaged", func(t *testing.T) {
		e := userEnv(t)
		e.stdin = "alice-pass\n"
		e.run(t, "user", "add", "-realm", "corp", "-password-stdin", "alice").want(t, 0, nil, nil)
		path := filepath.Join(e.dir, "data", "authd.db")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 8192 && i < len(b); i++ { // both meta pages overwritten
			b[i] = byte(i*7 + 3)
		}
		os.WriteFile(path, b, 0o600)
		e.run(t, "run").oneLineErr(t, "damaged or not an authd store")
	})
	t.Run("second instance", func(t *testing.T) {
		e := userEnv(t)
		s := e.startServer(t)
		pid := strconv.Itoa(s.cmd.Process.Pid)
		e.run(t, "run", "-listen", "127.0.0.1:0").oneLineErr(t, "locked by another authd (pid "+pid+")")
		s.stop()
	})
}

// TestGracefulShutdownDrains: SIGTERM lets a request in progress finish
// (here a slow audit follow over the admin socket is not involved; an API
// request is), readiness turns 503 first, and the exit is clean.
func TestGracefulShutdownDrains(t *testing.T) {
	e := userEnv(t)
	e.stdin = "alice-pass\n"
	e.run(t, "user", "add", "-realm", "corp", "-password-stdin", "alice").want(t, 0, nil, nil)
	s := e.startServer(t)
	// A keep-alive connection with a request whose body arrives slowly.
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := `{}`
	fmt.Fprintf(c, "POST /api/v1/realms/corp/journeys/login/authenticate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	time.Sleep(100 * time.Millisecond)
	s.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(300 * time.Millisecond)
	c.Write([]byte(body))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("the request in progress was dropped: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("request in progress: %d", resp.StatusCode)
	}
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	if s.code != 0 || !strings.Contains(s.output(), "msg=stopped") {
		t.Fatalf("exit %d:\n%s", s.code, s.output())
	}
}

// freeUDP returns a loopback UDP address nobody listens on.
func freeUDP(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().String()
}

// radiusAsk sends one Access-Request signed with secret (PAP password,
// Message-Authenticator) and returns the reply's code, or 0 when nothing
// came back within wait.
func radiusAsk(t *testing.T, addr, secret, user, password string, wait time.Duration) radius.Code {
	t.Helper()
	p := radius.New(radius.CodeAccessRequest, []byte(secret))
	p.Add(1, radius.Attribute(user))
	pw, _ := radius.NewUserPassword([]byte(password), p.Secret, p.Authenticator[:])
	p.Add(2, pw)
	p.Add(80, make(radius.Attribute, 16))
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(md5.New, p.Secret)
	mac.Write(b)
	copy(b[len(b)-16:], mac.Sum(nil))
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(b)
	c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		return 0
	}
	r, err := radius.Parse(buf[:n], p.Secret)
	if err != nil {
		t.Fatalf("reply: %v", err)
	}
	return r.Code
}

// radiusPushConfig serves RADIUS on raddr with the client's secret read from
// secrets/nas, and a push journey for it.
func radiusPushConfig(addr, raddr string) string {
	return pushConfig(addr) + fmt.Sprintf(`
radius_client "lo" {
  address = "127.0.0.1/32"
  secret  = file("secrets/nas")
  timeout = "310s"
}

radius_policy "vpn" {
  clients = [radius_client.lo]
  realm   = realm.corp
  journey = journey.vpn
}

journey "vpn" {
  realm = realm.corp
  start = node.creds
  node "credentials" "creds" {
    next = node.check
  }
  node "password_check" "check" {
    outcomes = { success = node.push, failure = failure, locked = failure }
  }
  node "push_sender" "push" {
    message_timeout = "5m"
    remove_skip     = true
    outcomes        = { sent = node.wait, not_registered = failure }
  }
  node "push_wait" "wait" {
    seconds  = 30
    outcomes = { done = node.verify, exit = failure }
  }
  node "push_result_verifier" "verify" {
    outcomes = { success = success, failure = failure, expired = failure, waiting = node.wait }
  }
}
`)
}

func withRADIUSListen(cfg, raddr string) string {
	return strings.Replace(cfg, "server {\n", fmt.Sprintf("server {\n  radius {\n    listen = %q\n  }\n", raddr), 1)
}

// enrolDevice enrols a software authenticator for alice through the
// enroll journey of pushConfig.
func enrolDevice(t *testing.T, addr string) (*authenticator.Client, *authenticator.Account) {
	t.Helper()
	_, m := apiPost(t, addr, "corp", "enroll", map[string]any{})
	_, m = apiPost(t, addr, "corp", "enroll", answerAll(t, m, map[string]string{"name": "alice", "password": "alice-pass"}))
	uri := ""
	for _, c := range m["callbacks"].([]any) {
		if cb := c.(map[string]any); cb["type"] == "qr" {
			uri, _ = cb["uri"].(string)
		}
	}
	dev := &authenticator.Client{}
	acct, err := dev.Enroll(context.Background(), uri, authenticator.EnrollOptions{})
	if err != nil {
		t.Fatalf("enrolling %q: %v", uri, err)
	}
	if _, m = apiPost(t, addr, "corp", "enroll", answerAll(t, m, map[string]string{"wait": ""})); m["outcome"] != "success" {
		t.Fatalf("enrolment: %v", m)
	}
	return dev, acct
}

// TestRADIUSReloadAndShutdown: a reload switches the RADIUS secret at
// once (the old one is dropped, the new one answered), a held request is
// completed by the phone, and SIGTERM answers a held request with
// Access-Reject instead of leaving the NAS to time out.
func TestRADIUSReloadAndShutdown(t *testing.T) {
	addr, raddr := freePort(t), freeUDP(t)
	e := env{dir: configDir(t, map[string]string{
		"authd.hcl":   withRADIUSListen(radiusPushConfig(addr, raddr), raddr),
		"secrets/nas": "old-secret",
	})}
	e.stdin = "alice-pass\n"
	e.run(t, "user", "add", "-realm", "corp", "-password-stdin", "alice").want(t, 0, nil, nil)
	e.stdin = ""
	s := e.startServer(t, "-rate-limit-user", "0")
	dev, acct := enrolDevice(t, s.addr)
	ctx := context.Background()

	// A login held for the push, approved by the phone.
	done := make(chan radius.Code, 1)
	go func() { done <- radiusAsk(t, raddr, "old-secret", "alice", "alice-pass", 30*time.Second) }()
	var pending []wire.PendingPush
	for i := 0; i < 100 && len(pending) == 0; i++ {
		pending, _ = dev.Pending(ctx, acct, 0)
		time.Sleep(50 * time.Millisecond)
	}
	if len(pending) != 1 {
		t.Fatalf("pending: %v", pending)
	}
	if _, err := dev.Respond(ctx, acct, pending[0], authenticator.Answer{Approve: true}); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != radius.CodeAccessAccept {
		t.Fatalf("held login: %v", code)
	}

	// The NAS's secret changes: after the reload the old one is dropped.
	writeFiles(t, e.dir, map[string]string{"secrets/nas": "new-secret"})
	e.run(t, "reload").want(t, 0, []string{"configuration reloaded"}, nil)
	if code := radiusAsk(t, raddr, "old-secret", "alice", "wrong", time.Second); code != 0 {
		t.Fatalf("the old secret still works: %v", code)
	}
	if code := radiusAsk(t, raddr, "new-secret", "alice", "wrong", 5*time.Second); code != radius.CodeAccessReject {
		t.Fatalf("the new secret: %v", code)
	}

	// A held request at shutdown is answered with a reject.
	go func() { done <- radiusAsk(t, raddr, "new-secret", "alice", "alice-pass", 30*time.Second) }()
	for i := 0; i < 100; i++ {
		if pending, _ = dev.Pending(ctx, acct, 0); len(pending) > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the request is held now
	start := time.Now()
	if code := s.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	select {
	case code := <-done:
		if code != radius.CodeAccessReject || time.Since(start) > 10*time.Second {
			t.Fatalf("held request at shutdown: %v after %v", code, time.Since(start))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the held request was not answered at shutdown")
	}
}

// TestReloadIsAllOrNothing: a reload whose push provider key turns out
// unreadable (something only the push service can tell) is refused after
// the relying parties already switched; they are switched back, so the
// new relying party never works and the old one keeps working.
func TestReloadIsAllOrNothing(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	p8 := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	rp := func(name string) string {
		return fmt.Sprintf(`
relying_party %q {
  realm         = realm.corp
  client_type   = "confidential"
  client_id     = %q
  client_secret = file("secrets/%s")
  grant_types   = ["client_credentials"]
  scopes        = ["api"]
}
`, name, name, name)
	}
	base := goodConfig + `
push_provider "apns" "ios" {
  team_id     = "ABCDE12345"
  key_id      = "XYZ987ABCD"
  key_file    = "secrets/AuthKey.p8"
  bundle_id   = "com.example.authenticator"
  environment = "sandbox"
}
`
	base = strings.Replace(base, `listen = "127.0.0.1:0"`, "listen = \"127.0.0.1:0\"\n    public_url = \"http://127.0.0.1:9\"", 1)
	e := env{dir: configDir(t, map[string]string{
		"authd.hcl": base + rp("app1"), "secrets/AuthKey.p8": p8,
		"secrets/app1": "app1-secret", "secrets/app2": "app2-secret",
	})}
	s := e.startServer(t)
	token := func(id, secret string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/oauth2/token", strings.NewReader("grant_type=client_credentials&scope=api"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := token("app1", "app1-secret"); code != 200 {
		t.Fatalf("app1 before the reload: %d", code)
	}
	writeFiles(t, e.dir, map[string]string{"authd.hcl": base + rp("app1") + rp("app2"), "secrets/AuthKey.p8": "not a key\n"})
	e.run(t, "reload").oneLineErr(t, "push providers")
	if code := token("app2", "app2-secret"); code != 401 {
		t.Fatalf("the relying party of a refused reload answers %d", code)
	}
	if code := token("app1", "app1-secret"); code != 200 {
		t.Fatalf("app1 after the refused reload: %d", code)
	}
	// Fixed: the same change goes through.
	writeFiles(t, e.dir, map[string]string{"secrets/AuthKey.p8": p8})
	e.run(t, "reload").want(t, 0, []string{"configuration reloaded"}, nil)
	if code := token("app2", "app2-secret"); code != 200 {
		t.Fatalf("app2 after the good reload: %d", code)
	}
	s.stop()
}
