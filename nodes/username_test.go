package nodes_test

import (
	"testing"

	"github.com/authd/authd/engine"
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
