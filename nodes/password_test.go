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
