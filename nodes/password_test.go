package nodes_test

import (
	"testing"

	"github.com/authd/authd/engine"
)

func TestPassword(t *testing.T) {
	n := build(t, "password", ``)
	e := newEnv()
	cbs := wantAsk(t, process(t, n, e.ctx("p", nil)), engine.CallbackPassword)
	if cbs[0].ID != "password" || cbs[0].Prompt != "Password" {
		t.Fatalf("callback %+v", cbs[0])
	}
	// An unanswered callback is asked again; an empty one is a (wrong)
	// password like any other.
	wantAsk(t, process(t, n, e.ctx("p", answer(cbs, nil))), engine.CallbackPassword)
	nc := e.ctx("p", answer(cbs, map[string]string{"password": ""}))
	wantOutcome(t, process(t, n, nc), "next")

	nc = e.ctx("p", answer(cbs, map[string]string{"password": "hunter2"}))
	wantOutcome(t, process(t, n, nc), "next")
	if nc.Transient("password") != "hunter2" {
		t.Fatal("password not in the transient values")
	}
	if len(e.session.State) != 0 {
		t.Fatal("password written to the session state")
	}

	n = build(t, "password", `prompt = "PIN"`)
	if cbs := wantAsk(t, process(t, n, e.ctx("p", nil)), engine.CallbackPassword); cbs[0].Prompt != "PIN" {
		t.Fatalf("prompt %q", cbs[0].Prompt)
	}
}

func TestPasswordFromRequest(t *testing.T) {
	n := build(t, "password", ``)
	u := build(t, "username", ``)
	e := newEnv()
	e.req = &engine.Request{Protocol: "radius", Credentials: &engine.Credentials{Username: "bob", Password: "pw"}}

	// username -> password takes both halves of one request.
	nc := e.ctx("u", nil)
	wantOutcome(t, process(t, u, nc), "next")
	wantOutcome(t, process(t, n, nc), "next")
	if nc.UserName() != "bob" || nc.Transient("password") != "pw" {
		t.Fatalf("user %q, password taken %v", nc.UserName(), nc.Transient("password") == "pw")
	}
	if len(e.session.State) != 0 || len(e.session.Data) != 0 {
		t.Errorf("password wrote to the session: %v %v", e.session.State, e.session.Data)
	}
	// A loop back after a wrong password asks rather than checking the
	// same password twice.
	wantAsk(t, process(t, n, nc), engine.CallbackPassword)

	// An empty password is taken as given, like an empty answer.
	e = newEnv()
	e.req = &engine.Request{Protocol: "radius", Credentials: &engine.Credentials{Username: "bob"}}
	nc = e.ctx("p", nil)
	nc.SetTransient("password", "stale")
	wantOutcome(t, process(t, n, nc), "next")
	if nc.Transient("password") != "" {
		t.Fatalf("password %q, want empty", nc.Transient("password"))
	}

	// Not for another user than the journey settled on, not without a
	// usable user name, not after a credentials node took them.
	e = newEnv()
	e.req = &engine.Request{Protocol: "radius", Credentials: &engine.Credentials{Username: "bob", Password: "pw"}}
	nc = e.ctx("p", nil)
	nc.SetUser("alice")
	wantAsk(t, process(t, n, nc), engine.CallbackPassword)
	if nc.Transient("password") != "" {
		t.Fatal("bob's password handed on for alice")
	}
	e.req = &engine.Request{Protocol: "radius", Credentials: &engine.Credentials{Username: " ", Password: "pw"}}
	wantAsk(t, process(t, n, e.ctx("p", nil)), engine.CallbackPassword)
	e = newEnv()
	e.req = &engine.Request{Protocol: "radius", Credentials: &engine.Credentials{Username: "bob", Password: "pw"}}
	nc = e.ctx("p", nil)
	nc.SetTransient("nodes.credentials_taken", "1")
	wantAsk(t, process(t, n, nc), engine.CallbackPassword)
}
