package api_test

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/protocols/api"
)

// waiter stands in for push_wait: it asks the client to wait (seconds)
// until answered is set, counting how often it was resumed.
type waiter struct {
	seconds  int
	answered atomic.Bool
	resumes  atomic.Int32
}

func (n *waiter) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	if nc.Resumed() {
		n.resumes.Add(1)
		if a, _ := nc.Answer("wait"); a == "exit" {
			return engine.Next("failure"), nil
		}
		if n.answered.Load() {
			return engine.Next("success"), nil
		}
	}
	return engine.Ask(engine.Callback{Type: engine.CallbackWait, ID: "wait", Seconds: n.seconds, Exit: true},
		engine.Callback{Type: engine.CallbackText, ID: "message", Message: "Approve on your phone."}), nil
}

const waitPath = "/api/v1/realms/corp/journeys/push/authenticate"

// transports are the two ways a long poll is held: parked (HTTP/1.1, the
// connection taken over, no goroutine) and blocking (HTTP/2, which cannot
// be taken over).
var transports = []string{"http1", "http2"}

func newWaitServer(t *testing.T, n *waiter, transport string) (*engine.Engine, *httptest.Server, *api.Handler) {
	t.Helper()
	return newWaitServerOn(t, n, transport, memstore.New())
}

// newWaitServerOn is newWaitServer on a store of the test's.
func newWaitServerOn(t *testing.T, n *waiter, transport string, kv store.KV) (*engine.Engine, *httptest.Server, *api.Handler) {
	t.Helper()
	e := engine.New(engine.Options{KV: kv})
	e.Load(&engine.Program{
		Revision: "r1",
		Realms:   map[string]*engine.Realm{"corp": {Name: "corp"}},
		Journeys: map[string]*engine.Journey{"push": {
			Name: "push", Realm: "corp", Start: "wait", Revision: "p1",
			Nodes: map[string]*engine.CompiledNode{"wait": {Name: "wait", Type: "test", Node: n,
				Edges: map[engine.Outcome]string{"success": "success", "failure": "failure"}}},
		}},
	})
	h := api.New(e, nil)
	// Wrapped as `authd run` wraps it: the long poll is taken over
	// through the middleware's response writer.
	srv := httptest.NewUnstartedServer(api.RequestIDs(api.Recover(nil, h)))
	if transport == "http2" {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return e, srv, h
}

func startWait(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	code, m := post(t, srv, waitPath, `{}`)
	if code != 200 || m["node"] != "wait" {
		t.Fatalf("start: %d %v", code, m)
	}
	return m["session"].(string)
}

// forEachTransport runs f as a subtest per transport.
func forEachTransport(t *testing.T, f func(t *testing.T, transport string)) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) { f(t, tr) })
	}
}

type reply struct {
	code int
	m    map[string]any
}

// TestLongPollHeldUntilWoken: a resume with ?wait= is held while the
// journey waits and answered once the engine wakes the session, with one
// resume of the node (no polling behind the client's back).
func TestLongPollHeldUntilWoken(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr string) {
		n := &waiter{seconds: 60}
		e, srv, h := newWaitServer(t, n, tr)
		id := startWait(t, srv)
		done := make(chan reply, 1)
		go func() {
			code, m := post(t, srv, waitPath+"?wait=25s", `{"session":"`+id+`","callbacks":[{"id":"wait","value":""}]}`)
			done <- reply{code, m}
		}()
		waitHeld(t, e, h, id, tr)
		if got := n.resumes.Load(); got != 0 {
			t.Fatalf("the held request resumed the node %d times before the wake", got)
		}
		n.answered.Store(true)
		e.Wake(id)
		r := <-done
		if r.code != 200 || r.m["outcome"] != "success" {
			t.Fatalf("held resume: %d %v", r.code, r.m)
		}
		if got := n.resumes.Load(); got != 1 {
			t.Errorf("node resumed %d times, want 1", got)
		}
		if h.Parked() != 0 {
			t.Errorf("%d holds still parked after the answer", h.Parked())
		}
	})
}

// waitHeld blocks until the long poll on id is held: parked (HTTP/1.1)
// or registered with the engine (HTTP/2).
func waitHeld(t *testing.T, e *engine.Engine, h *api.Handler, id, transport string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if transport == "http1" && h.Parked() > 0 {
			return
		}
		if transport == "http2" && e.Holding(id) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("the long poll was not held (%s)", transport)
}

// TestLongPollWakeBeforeHold: an answer that arrived between the
// suspension and the long poll is not missed.
func TestLongPollWakeBeforeHold(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr string) {
		n := &waiter{seconds: 60}
		e, srv, _ := newWaitServer(t, n, tr)
		id := startWait(t, srv)
		n.answered.Store(true)
		e.Wake(id)
		code, m := post(t, srv, waitPath+"?wait=25", `{"session":"`+id+`"}`)
		if code != 200 || m["outcome"] != "success" {
			t.Fatalf("%d %v", code, m)
		}
	})
}

// TestLongPollNotHeld: requests that do not only keep waiting are
// answered at once.
func TestLongPollNotHeld(t *testing.T) {
	cases := []struct {
		name, query, body, outcome string
	}{
		{"exit", "?wait=25s", `{"session":"%s","callbacks":[{"id":"wait","value":"exit"}]}`, "failure"},
		{"no wait parameter", "", `{"session":"%s","callbacks":[{"id":"wait","value":""}]}`, ""},
		{"zero wait", "?wait=0", `{"session":"%s"}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := &waiter{seconds: 60}
			_, srv, h := newWaitServer(t, n, "http1")
			id := startWait(t, srv)
			code, m := post(t, srv, waitPath+tc.query, fmt.Sprintf(tc.body, id))
			if code != 200 || n.resumes.Load() != 1 {
				t.Fatalf("%d %v (resumes %d)", code, m, n.resumes.Load())
			}
			if tc.outcome != "" && m["outcome"] != tc.outcome {
				t.Errorf("outcome %v, want %s", m["outcome"], tc.outcome)
			}
			if tc.outcome == "" && m["node"] != "wait" {
				t.Errorf("want the wait again, got %v", m)
			}
			if h.Parked() != 0 {
				t.Error("a request that does not wait was parked")
			}
		})
	}
}

// TestLongPollElapses: with no answer, the request comes back when the
// client's wait is over, still waiting, without running the node (a poll
// that changes nothing writes nothing).
func TestLongPollElapses(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr string) {
		n := &waiter{seconds: 60}
		e, srv, _ := newWaitServer(t, n, tr)
		id := startWait(t, srv)
		code, m := post(t, srv, waitPath+"?wait=300ms", `{"session":"`+id+`"}`)
		if code != 200 || m["node"] != "wait" || m["session"] != id {
			t.Fatalf("%d %v", code, m)
		}
		if got := n.resumes.Load(); got != 0 {
			t.Errorf("node resumed %d times, want 0", got)
		}
		if e.Holding(id) {
			t.Error("the session still looks held after its long poll ended")
		}
	})
}

// TestLongPollSpansWaits: a client wait longer than the node's seconds
// holds across the node's re-suspension and still hears the answer.
func TestLongPollSpansWaits(t *testing.T) {
	forEachTransport(t, func(t *testing.T, tr string) {
		n := &waiter{seconds: 1}
		e, srv, _ := newWaitServer(t, n, tr)
		id := startWait(t, srv)
		done := make(chan map[string]any, 1)
		go func() {
			_, m := post(t, srv, waitPath+"?wait=25s", `{"session":"`+id+`"}`)
			done <- m
		}()
		// Wait until the node's own second has passed and it suspended again.
		for n.resumes.Load() < 1 {
			time.Sleep(10 * time.Millisecond)
		}
		n.answered.Store(true)
		e.Wake(id)
		if m := <-done; m["outcome"] != "success" {
			t.Fatalf("%v", m)
		}
	})
}

// TestParkedClientGone: a client that closed its long poll is not
// answered in its place: the wake does not resume the journey, and is
// kept for the client's next poll.
func TestParkedClientGone(t *testing.T) {
	n := &waiter{seconds: 60}
	e, srv, h := newWaitServer(t, n, "http1")
	id := startWait(t, srv)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	body := `{"session":"` + id + `"}`
	fmt.Fprintf(conn, "POST %s?wait=25s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", waitPath, len(body), body)
	waitHeld(t, e, h, id, "http1")
	conn.Close()
	e.Wake(id) // e.g. a push answer whose wake finds the client gone
	for deadline := time.Now().Add(10 * time.Second); h.Parked() > 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the hold of a closed connection stayed parked")
		}
	}
	if got := n.resumes.Load(); got != 0 {
		t.Errorf("the journey was resumed %d times for a client that left", got)
	}
	// The wake is kept for the client's next poll, which holds no longer.
	select {
	case <-e.WakeChan(id):
	default:
		t.Error("the wake the closed hold took was lost")
	}
	n.answered.Store(true)
	code, m := post(t, srv, waitPath, `{"session":"`+id+`"}`)
	if code != 200 || m["outcome"] != "success" {
		t.Errorf("next poll: %d %v", code, m)
	}
}

// TestShutdownAnswersParked: Shutdown answers parked long polls with where
// the journey stands, and later long polls are held the blocking way.
func TestShutdownAnswersParked(t *testing.T) {
	n := &waiter{seconds: 60}
	e, srv, h := newWaitServer(t, n, "http1")
	id := startWait(t, srv)
	done := make(chan reply, 1)
	go func() {
		code, m := post(t, srv, waitPath+"?wait=25s", `{"session":"`+id+`"}`)
		done <- reply{code, m}
	}()
	waitHeld(t, e, h, id, "http1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	r := <-done
	if r.code != 200 || r.m["node"] != "wait" || r.m["session"] != id {
		t.Fatalf("parked poll at shutdown: %d %v", r.code, r.m)
	}
	if h.Parked() != 0 {
		t.Errorf("%d still parked", h.Parked())
	}
	// After Shutdown a long poll is not parked (http.Server.Shutdown waits
	// for it instead).
	go func() {
		code, m := post(t, srv, waitPath+"?wait=25s", `{"session":"`+id+`"}`)
		done <- reply{code, m}
	}()
	waitHeld(t, e, h, id, "http2")
	if h.Parked() != 0 {
		t.Error("a long poll after Shutdown was parked")
	}
	n.answered.Store(true)
	e.Wake(id)
	if r := <-done; r.m["outcome"] != "success" {
		t.Errorf("blocking hold after Shutdown: %d %v", r.code, r.m)
	}
}

func TestLongPollBadWait(t *testing.T) {
	n := &waiter{seconds: 60}
	_, srv, _ := newWaitServer(t, n, "http1")
	id := startWait(t, srv)
	for _, q := range []string{"?wait=soon", "?wait=-5s"} {
		code, m := post(t, srv, waitPath+q, `{"session":"`+id+`"}`)
		if code != 400 || m["field"] != "wait" {
			t.Errorf("%s: %d %v", q, code, m)
		}
	}
	if n.resumes.Load() != 0 {
		t.Errorf("a refused request resumed the session")
	}
}
