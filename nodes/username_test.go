package nodes_test

import (
	"sync/atomic"
	"testing"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/memstore"
)

func TestUsername(t *testing.T) {
	n := build(t, "username", ``)
	e := newEnv()
	cbs := wantAsk(t, process(t, n, e.ctx("u", nil)), engine.CallbackName)
	if cbs[0].ID != "username" || cbs[0].Prompt != "User name" {
		t.Fatalf("callback %+v", cbs[0])
	}
	wantAsk(t, process(t, n, e.ctx("u", answer(cbs, map[string]string{"username": " "}))), engine.CallbackName)
	nc := e.ctx("u", answer(cbs, map[string]string{"username": "carol"}))
	wantOutcome(t, process(t, n, nc), "next")
	if nc.UserName() != "carol" {
		t.Fatalf("user %q", nc.UserName())
	}

	n = build(t, "username", `prompt = "E-mail"`)
	if cbs := wantAsk(t, process(t, n, e.ctx("u", nil)), engine.CallbackName); cbs[0].Prompt != "E-mail" {
		t.Fatalf("prompt %q", cbs[0].Prompt)
	}
}

func TestUsernameFromRequest(t *testing.T) {
	n := build(t, "username", ``)
	e := newEnv()
	e.req = &engine.Request{Protocol: "radius", Credentials: &engine.Credentials{Username: " bob ", Password: "pw"}}
	nc := e.ctx("u", nil)
	wantOutcome(t, process(t, n, nc), "next")
	if nc.UserName() != "bob" {
		t.Fatalf("user %q, want bob (trimmed)", nc.UserName())
	}
	if nc.Transient("password") != "" {
		t.Error("the username node handed the password on; that is the password node's")
	}
	// A loop back to the node in the same request asks.
	wantAsk(t, process(t, n, nc), engine.CallbackName)

	// Credentials a credentials node already took are not taken again.
	nc = e.ctx("u", nil)
	nc.SetTransient("nodes.credentials_taken", "1")
	wantAsk(t, process(t, n, nc), engine.CallbackName)

	// A user name no store should see is asked for instead.
	for _, name := range []string{"", "  ", "a\x00b"} {
		e := newEnv()
		e.req = &engine.Request{Protocol: "radius", Credentials: &engine.Credentials{Username: name}}
		nc := e.ctx("u", nil)
		wantAsk(t, process(t, n, nc), engine.CallbackName)
		if nc.UserName() != "" {
			t.Errorf("username %q: user %q set", name, nc.UserName())
		}
	}

	// Answers to its own callback win over the request's credentials.
	cbs := wantAsk(t, process(t, n, newEnv().ctx("u", nil)), engine.CallbackName)
	nc = e.ctx("u", answer(cbs, map[string]string{"username": "carol"}))
	wantOutcome(t, process(t, n, nc), "next")
	if nc.UserName() != "carol" {
		t.Fatalf("user %q, want carol", nc.UserName())
	}
}

// countingKV counts the write transactions of a store.
type countingKV struct {
	store.KV
	writes atomic.Int64
}

func (k *countingKV) Update(fn func(store.Tx) error) error {
	k.writes.Add(1)
	return k.KV.Update(fn)
}

func (k *countingKV) Batch(fn func(store.Tx) error) error {
	k.writes.Add(1)
	return k.KV.Batch(fn)
}

// TestUsernameJourneyFromRequest is the RADIUS no-hash journey, username
// -> condition -> success, through the engine: with the request's
// credentials it ends in the first step, never suspends and never writes
// to the store.
func TestUsernameJourneyFromRequest(t *testing.T) {
	j := &engine.Journey{
		Name: "main", Realm: "corp", Start: "user", Revision: "r1",
		Nodes: map[string]*engine.CompiledNode{
			"user":  compiled(t, "user", "username", ``, map[engine.Outcome]string{"next": "known"}),
			"known": compiled(t, "known", "condition", `when = user.name == "bob"`, map[engine.Outcome]string{"true": "success", "false": "failure"}),
		},
	}
	kv := &countingKV{KV: memstore.New()}
	eng := engine.New(engine.Options{KV: kv, Clock: fixedClock{}})
	eng.Load(&engine.Program{Realms: map[string]*engine.Realm{"corp": {Name: "corp"}}, Journeys: map[string]*engine.Journey{"main": j}})
	for name, want := range map[string]engine.Outcome{"bob": engine.Success, "eve": engine.Failure} {
		req := engine.Request{Protocol: "radius", Credentials: &engine.Credentials{Username: name, Password: "x"}}
		resp, err := eng.Start(t.Context(), "corp", "main", req)
		if err != nil || !resp.Done || resp.Outcome != want || resp.User != name {
			t.Fatalf("%s: %+v %v, want done with %s", name, resp, err, want)
		}
	}
	if n := kv.writes.Load(); n != 0 {
		t.Errorf("%d store writes, want none", n)
	}
	// Without credentials (the API) it asks, as before.
	resp, err := eng.Start(t.Context(), "corp", "main", engine.Request{Protocol: "api"})
	if err != nil || resp.Done || resp.Node != "user" {
		t.Fatalf("api: %+v %v, want a suspension at user", resp, err)
	}
}
