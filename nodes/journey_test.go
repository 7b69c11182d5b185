package nodes_test

import (
	"slices"
	"testing"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/store/memstore"
)

// fixedClock is the engine clock of journey tests.
type fixedClock struct{}

func (fixedClock) Now() time.Time { return testNow }

// compiled builds a node of a journey from its type and settings.
func compiled(t *testing.T, name, typ, src string, edges map[engine.Outcome]string) *engine.CompiledNode {
	t.Helper()
	nt := nodeType(t, typ)
	cfg := mustDecode(t, typ, src)
	for _, o := range nt.Outcomes(cfg) {
		if _, ok := edges[o]; !ok {
			t.Fatalf("node %s: outcome %s not wired", name, o)
		}
	}
	return &engine.CompiledNode{Name: name, Type: typ, Node: build(t, typ, src), Edges: edges}
}

// TestJourneyThroughEngine runs the core node types through the real
// runner: callbacks round-trip through the engine's answer checks and the
// stored session.
func TestJourneyThroughEngine(t *testing.T) {
	main := &engine.Journey{
		Name: "main", Realm: "corp", Start: "login", Revision: "r1",
		StateKeys: []string{"picked", "device_ip", "device_user_agent"},
		Nodes:     map[string]*engine.CompiledNode{},
	}
	for _, n := range []*engine.CompiledNode{
		compiled(t, "login", "username", ``, map[engine.Outcome]string{"next": "pick"}),
		compiled(t, "pick", "choice", `options = ["a", "b"]`, map[engine.Outcome]string{"a": "hello", "b": "retry"}),
		compiled(t, "retry", "retry_limit", `limit = 1`, map[engine.Outcome]string{"retry": "pick", "reject": "failure"}),
		compiled(t, "hello", "message", `text = "Hi {{user}}"`, map[engine.Outcome]string{"next": "set"}),
		compiled(t, "set", "set_state", `values = { picked = "a" }`, map[engine.Outcome]string{"next": "inner"}),
		compiled(t, "inner", "inner_journey", `journey = journey.profile`, map[engine.Outcome]string{"success": "check", "failure": "failure"}),
		compiled(t, "check", "condition", `when = state.picked == "a" && state.device_ip == "192.0.2.1"`, map[engine.Outcome]string{"true": "success", "false": "failure"}),
	} {
		main.Nodes[n.Name] = n
	}
	profile := &engine.Journey{
		Name: "profile", Realm: "corp", Start: "dp", Revision: "r2",
		StateKeys: []string{"device_ip", "device_user_agent"},
		Nodes: map[string]*engine.CompiledNode{
			"dp": compiled(t, "dp", "device_profile", ``, map[engine.Outcome]string{"next": "success"}),
		},
	}
	eng := engine.New(engine.Options{KV: memstore.New(), Clock: fixedClock{}})
	eng.Load(&engine.Program{
		Revision: "p1",
		Realms:   map[string]*engine.Realm{"corp": {Name: "corp", DisplayName: "Example Corp"}},
		Journeys: map[string]*engine.Journey{"main": main, "profile": profile},
	})
	ctx := t.Context()
	req := engine.Request{Protocol: "api", ClientIP: "192.0.2.1"}
	val := func(s string) *string { return &s }

	resp, err := eng.Start(ctx, "corp", "main", req)
	if err != nil || resp.Done || resp.Node != "login" {
		t.Fatalf("start: %+v %v", resp, err)
	}
	resp, err = eng.Resume(ctx, resp.Session, []engine.Callback{{ID: "username", Value: val("alice")}}, req)
	if err != nil || resp.Node != "pick" {
		t.Fatalf("username: %+v %v", resp, err)
	}
	// b goes round the retry once, then a.
	resp, err = eng.Resume(ctx, resp.Session, []engine.Callback{{ID: "choice", Value: val("b")}}, req)
	if err != nil || resp.Node != "pick" {
		t.Fatalf("choice b: %+v %v", resp, err)
	}
	resp, err = eng.Resume(ctx, resp.Session, []engine.Callback{{ID: "choice", Value: val("a")}}, req)
	if err != nil || resp.Node != "hello" || resp.Callbacks[0].Message != "Hi alice" {
		t.Fatalf("choice a: %+v %v", resp, err)
	}
	// The message needs no answer: the client just comes back.
	resp, err = eng.Resume(ctx, resp.Session, nil, req)
	if err != nil || !resp.Done || resp.Outcome != engine.Success || resp.User != "alice" {
		t.Fatalf("end: %+v %v", resp, err)
	}
	if want := []string{"login", "pick", "retry", "pick", "hello", "set", "inner", "dp", "check"}; !slices.Equal(resp.Path, want) {
		t.Errorf("path %v, want %v", resp.Path, want)
	}
}

// TestJourneyRetryRejects runs retry_limit to its reject through the engine.
func TestJourneyRetryRejects(t *testing.T) {
	j := &engine.Journey{
		Name: "main", Realm: "corp", Start: "pick", Revision: "r1",
		Nodes: map[string]*engine.CompiledNode{
			"pick":  compiled(t, "pick", "choice", `options = ["ok", "again"]`, map[engine.Outcome]string{"ok": "success", "again": "retry"}),
			"retry": compiled(t, "retry", "retry_limit", `limit = 2`, map[engine.Outcome]string{"retry": "pick", "reject": "failure"}),
		},
	}
	eng := engine.New(engine.Options{KV: memstore.New(), Clock: fixedClock{}})
	eng.Load(&engine.Program{Realms: map[string]*engine.Realm{"corp": {Name: "corp"}}, Journeys: map[string]*engine.Journey{"main": j}})
	again := "again"
	resp, err := eng.Start(t.Context(), "corp", "main", engine.Request{})
	for i := 0; i < 3 && err == nil; i++ {
		if resp.Done {
			t.Fatalf("finished after %d tries: %+v", i, resp)
		}
		resp, err = eng.Resume(t.Context(), resp.Session, []engine.Callback{{ID: "choice", Value: &again}}, engine.Request{})
	}
	if err != nil || !resp.Done || resp.Outcome != engine.Failure {
		t.Fatalf("after three tries with limit 2: %+v %v", resp, err)
	}
}
