package loadtest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"layeh.com/radius"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/metrics"
	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/engine/users"
	_ "github.com/authd/authd/nodes" // the built-in node types
	"github.com/authd/authd/protocols/api"
	authdradius "github.com/authd/authd/protocols/radius"
)

// loadPush is an engine.PushService that approves every push when told
// to, waking the session like the real one does.
type loadPush struct {
	eng *engine.Engine
	mu  sync.Mutex
	p   map[string]*loadPushed
}

type loadPushed struct {
	session  string
	approved bool
	expires  time.Time
}

func (f *loadPush) HasDevice(context.Context, string, string) (bool, error) { return true, nil }

func (f *loadPush) Send(_ context.Context, r *engine.PushRequest) (*engine.PushTicket, error) {
	id := engine.NewID()
	f.mu.Lock()
	f.p[id] = &loadPushed{session: r.SessionID, expires: r.Expires}
	f.mu.Unlock()
	return &engine.PushTicket{MessageID: id, Expires: r.Expires, Devices: 1}, nil
}

func (f *loadPush) PushStatus(_ context.Context, _, _, id string, _ time.Time) (*engine.PushStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.p[id]
	if p == nil {
		return nil, &engine.PushError{Reason: engine.PushReasonNotFound}
	}
	if p.approved {
		return &engine.PushStatus{State: engine.PushApproved, Expires: p.expires}, nil
	}
	return &engine.PushStatus{State: engine.PushPending, Expires: p.expires}, nil
}

func (f *loadPush) CancelPush(context.Context, string, string, string, time.Time) error { return nil }

func (f *loadPush) BeginEnrollment(context.Context, *engine.EnrollmentRequest) (*engine.EnrollmentTicket, error) {
	return nil, fmt.Errorf("not in the load test")
}

func (f *loadPush) EnrollmentStatus(context.Context, string, string, string, time.Time) (*engine.EnrollmentStatus, error) {
	return &engine.EnrollmentStatus{State: engine.EnrollmentNotFound}, nil
}

func (f *loadPush) sent() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.p)
}

// approveAll approves every push, as if each phone answered now.
func (f *loadPush) approveAll() {
	f.mu.Lock()
	var sessions []string
	for _, p := range f.p {
		p.approved = true
		sessions = append(sessions, p.session)
	}
	f.mu.Unlock()
	for _, s := range sessions {
		f.eng.Wake(s)
	}
}

const loadConfig = `
server {
  http {
    listen = "127.0.0.1:0"
  }
  radius {
    listen = "127.0.0.1:18120"
  }
}

realm "corp" {
  push_providers = [push_provider.poll]
}

push_provider "poll" "poll" {}

radius_client "lo" {
  address = "127.0.0.1/32"
  secret  = env("LOAD_SECRET")
  timeout = "310s"
}

radius_policy "vpn" {
  clients = [radius_client.lo]
  realm   = realm.corp
  journey = journey.mfa
}

journey "mfa" {
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
    seconds  = 60
    outcomes = { done = node.verify, exit = failure }
  }
  node "push_result_verifier" "verify" {
    outcomes = { success = success, failure = failure, expired = failure, waiting = node.wait }
  }
}
`

const loadSecret = "load-test-secret"

// TestLoad holds 1,000 suspended journey API sessions and 500 RADIUS
// requests waiting for a push at once, on loopback, against the bbolt
// store with the audit log on; then every phone approves, and every login
// must succeed: nothing lost, nothing left held or pending.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped with -short")
	}
	const sessions, held = 1000, 500
	began := time.Now()

	cfg, diags := dsl.LoadSources(map[string][]byte{"load.hcl": []byte(loadConfig)}, ".", dsl.Options{
		RequireEnv: true,
		LookupEnv: func(k string) (string, bool) {
			if k == "LOAD_SECRET" {
				return loadSecret, true
			}
			return "", false
		},
	})
	if diags.HasErrors() {
		for _, d := range diags {
			t.Log(d)
		}
		t.FailNow()
	}
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "authd.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	kv := metrics.InstrumentKV(st)
	log := slog.New(slog.DiscardHandler)
	al, err := audit.New(kv, audit.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	repo := users.NewRepo(kv)
	hash, _ := bcrypt.GenerateFromPassword([]byte("alice-pass"), bcrypt.MinCost)
	if err := repo.Create(&users.User{Realm: "corp", Name: "alice", PasswordHash: string(hash), Created: time.Now(), Updated: time.Now()}); err != nil {
		t.Fatal(err)
	}
	eng := engine.New(engine.Options{KV: kv, Users: repo, Log: log, Audit: al})
	eng.Load(cfg.Program)
	fp := &loadPush{eng: eng, p: map[string]*loadPushed{}}
	eng.Services().Push = fp

	rs, err := authdradius.New(authdradius.FromDSL(cfg), authdradius.Options{Engine: eng, Log: log,
		Limits: authdradius.Limits{MaxHeldPerUser: held * 2}})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go rs.Serve(pc)
	defer rs.Shutdown(context.Background())
	hs := httptest.NewServer(api.RequestIDs(api.New(eng, log)))
	defer hs.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}, Timeout: time.Minute}
	url := hs.URL + "/api/v1/realms/corp/journeys/mfa/authenticate"
	call := func(body any) (map[string]any, error) {
		b, _ := json.Marshal(body)
		resp, err := client.Post(url, "application/json", bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if resp.StatusCode != 200 || json.Unmarshal(data, &m) != nil {
			return nil, fmt.Errorf("%d %s", resp.StatusCode, data)
		}
		return m, nil
	}

	// 500 RADIUS Access-Requests, each held until its push is answered.
	type reply struct {
		code radius.Code
		err  error
	}
	replies := make(chan reply, held)
	for i := 0; i < held; i++ {
		go func() {
			code, err := radiusExchange(pc.LocalAddr().String(), "alice", "alice-pass", 2*time.Minute)
			replies <- reply{code, err}
		}()
	}

	// 1,000 API sessions driven to the push wait, 100 at a time.
	var ids sync.Map
	var failed atomic.Int32
	var wg sync.WaitGroup
	sem := make(chan struct{}, 100)
	for i := 0; i < sessions; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			m, err := call(map[string]any{})
			if err == nil {
				m, err = call(map[string]any{"session": m["session"], "callbacks": []map[string]any{
					{"id": "username", "value": "alice"}, {"id": "password", "value": "alice-pass"}}})
			}
			if err != nil || m["node"] != "wait" {
				t.Errorf("session not at the push wait: %v %v", m, err)
				failed.Add(1)
				return
			}
			ids.Store(m["session"].(string), true)
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.FailNow()
	}

	deadline := time.Now().Add(time.Minute)
	for rs.Held() < held && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := rs.Held(); n != held {
		t.Fatalf("%d RADIUS requests held, want %d", n, held)
	}
	if n := fp.sent(); n != sessions+held {
		t.Fatalf("%d pushes sent, want %d (one per login, none twice)", n, sessions+held)
	}
	if n, err := eng.PendingSessions(); err != nil || n != sessions+held {
		t.Fatalf("%d sessions pending (%v), want %d", n, err, sessions+held)
	}
	t.Logf("%d API sessions suspended and %d RADIUS requests held after %v", sessions, held, time.Since(began).Round(time.Millisecond))

	// Every phone approves.
	fp.approveAll()
	accepted := 0
	for i := 0; i < held; i++ {
		select {
		case r := <-replies:
			if r.err != nil || r.code != radius.CodeAccessAccept {
				t.Errorf("RADIUS reply %v %v", r.code, r.err)
				continue
			}
			accepted++
		case <-time.After(time.Minute):
			t.Fatalf("only %d of %d held RADIUS requests were answered", i, held)
		}
	}
	var succeeded atomic.Int32
	ids.Range(func(k, _ any) bool {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			m, err := call(map[string]any{"session": k, "callbacks": []map[string]any{{"id": "wait", "value": ""}}})
			if err != nil || m["outcome"] != "success" {
				t.Errorf("API session after approval: %v %v", m, err)
				return
			}
			succeeded.Add(1)
		}()
		return true
	})
	wg.Wait()
	if accepted != held || int(succeeded.Load()) != sessions {
		t.Fatalf("%d/%d RADIUS accepts, %d/%d API successes", accepted, held, succeeded.Load(), sessions)
	}
	if n := rs.Held(); n != 0 {
		t.Fatalf("%d RADIUS requests still held", n)
	}
	time.Sleep(engineCacheTTL)
	if n, err := eng.PendingSessions(); err != nil || n != 0 {
		t.Fatalf("%d sessions still pending (%v)", n, err)
	}
	p, err := al.Query(audit.Query{Kind: audit.KindJourney, Limit: audit.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	n := len(p.Entries)
	for p.More {
		if p, err = al.Query(audit.Query{Kind: audit.KindJourney, After: p.Next}); err != nil {
			t.Fatal(err)
		}
		n += len(p.Entries)
	}
	if n != sessions+held {
		t.Fatalf("%d journey audit entries, want %d", n, sessions+held)
	}
	t.Logf("all %d logins finished after %v", sessions+held, time.Since(began).Round(time.Millisecond))
}

// engineCacheTTL outlasts the engine's cache of the pending-session count.
const engineCacheTTL = 5100 * time.Millisecond

// radiusExchange sends one signed Access-Request and waits for the answer
// (a held request is answered only when its push is), retransmitting.
func radiusExchange(addr, user, password string, timeout time.Duration) (radius.Code, error) {
	p := radius.New(radius.CodeAccessRequest, []byte(loadSecret))
	p.Add(1, radius.Attribute(user))
	pw, err := radius.NewUserPassword([]byte(password), p.Secret, p.Authenticator[:])
	if err != nil {
		return 0, err
	}
	p.Add(2, pw)
	p.Add(80, make(radius.Attribute, 16)) // Message-Authenticator, last
	b, err := p.Encode()
	if err != nil {
		return 0, err
	}
	mac := hmac.New(md5.New, p.Secret)
	mac.Write(b)
	copy(b[len(b)-16:], mac.Sum(nil))
	c, err := net.Dial("udp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	// Like a NAS, retransmit the same packet (RFC 5080: the server
	// recognises it) until the answer comes: a burst of 500 datagrams can
	// overflow a socket buffer even on loopback.
	end := time.Now().Add(timeout)
	buf := make([]byte, 4096)
	var n int
	for {
		if _, err := c.Write(b); err != nil {
			return 0, err
		}
		next := time.Now().Add(2 * time.Second)
		if next.After(end) {
			next = end
		}
		c.SetReadDeadline(next)
		n, err = c.Read(buf)
		if err == nil {
			break
		}
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() || time.Now().After(end) {
			return 0, err
		}
	}
	r, err := radius.Parse(buf[:n], p.Secret)
	if err != nil {
		return 0, err
	}
	return r.Code, nil
}
