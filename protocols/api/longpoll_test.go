package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd/engine"
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

func newWaitServer(t *testing.T, n *waiter) (*engine.Engine, *httptest.Server) {
	t.Helper()
	e := engine.New(engine.Options{KV: memstore.New()})
	e.Load(&engine.Program{
		Revision: "r1",
		Realms:   map[string]*engine.Realm{"corp": {Name: "corp"}},
		Journeys: map[string]*engine.Journey{"push": {
			Name: "push", Realm: "corp", Start: "wait", Revision: "p1",
			Nodes: map[string]*engine.CompiledNode{"wait": {Name: "wait", Type: "test", Node: n,
				Edges: map[engine.Outcome]string{"success": "success", "failure": "failure"}}},
		}},
	})
	srv := httptest.NewServer(api.New(e, nil))
	t.Cleanup(srv.Close)
	return e, srv
}

func startWait(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	code, m := post(t, srv, waitPath, `{}`)
	if code != 200 || m["node"] != "wait" {
		t.Fatalf("start: %d %v", code, m)
	}
	return m["session"].(string)
}

// TestLongPollHeldUntilWoken: a resume with ?wait= is held while the
// journey waits and answered once the engine wakes the session, with one
// resume of the node (no polling behind the client's back).
func TestLongPollHeldUntilWoken(t *testing.T) {
	n := &waiter{seconds: 60}
	e, srv := newWaitServer(t, n)
	id := startWait(t, srv)
	type reply struct {
		code int
		m    map[string]any
	}
	done := make(chan reply, 1)
	go func() {
		code, m := post(t, srv, waitPath+"?wait=25s", `{"session":"`+id+`","callbacks":[{"id":"wait","value":""}]}`)
		done <- reply{code, m}
	}()
	// Give a request that is not held the time to come back too early
	// (it would find no answer and suspend again).
	time.Sleep(100 * time.Millisecond)
	n.answered.Store(true)
	e.Wake(id)
	r := <-done
	if r.code != 200 || r.m["outcome"] != "success" {
		t.Fatalf("held resume: %d %v", r.code, r.m)
	}
	if got := n.resumes.Load(); got != 1 {
		t.Errorf("node resumed %d times, want 1", got)
	}
}

// TestLongPollWakeBeforeHold: an answer that arrived between the
// suspension and the long poll is not missed.
func TestLongPollWakeBeforeHold(t *testing.T) {
	n := &waiter{seconds: 60}
	e, srv := newWaitServer(t, n)
	id := startWait(t, srv)
	n.answered.Store(true)
	e.Wake(id)
	code, m := post(t, srv, waitPath+"?wait=25", `{"session":"`+id+`"}`)
	if code != 200 || m["outcome"] != "success" {
		t.Fatalf("%d %v", code, m)
	}
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
			_, srv := newWaitServer(t, n)
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
		})
	}
}

// TestLongPollElapses: with no answer, the request comes back when the
// client's wait is over, still waiting.
func TestLongPollElapses(t *testing.T) {
	n := &waiter{seconds: 60}
	_, srv := newWaitServer(t, n)
	id := startWait(t, srv)
	code, m := post(t, srv, waitPath+"?wait=300ms", `{"session":"`+id+`"}`)
	if code != 200 || m["node"] != "wait" || m["session"] != id {
		t.Fatalf("%d %v", code, m)
	}
	if got := n.resumes.Load(); got != 1 {
		t.Errorf("node resumed %d times, want 1", got)
	}
}

// TestLongPollSpansWaits: a client wait longer than the node's seconds
// holds across the node's re-suspension and still hears the answer.
func TestLongPollSpansWaits(t *testing.T) {
	n := &waiter{seconds: 1}
	e, srv := newWaitServer(t, n)
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
}

func TestLongPollBadWait(t *testing.T) {
	n := &waiter{seconds: 60}
	_, srv := newWaitServer(t, n)
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
