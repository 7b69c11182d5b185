package nodes_test

import (
	"testing"

	"github.com/authd/authd/engine"
)

func TestCredentialsAsksAndTakesAnswers(t *testing.T) {
	n := build(t, "credentials", ``)
	e := newEnv()
	cbs := wantAsk(t, process(t, n, e.ctx("login", nil)), engine.CallbackName, engine.CallbackPassword)
	if cbs[0].ID != "username" || cbs[0].Prompt != "User name" || cbs[1].ID != "password" || cbs[1].Prompt != "Password" {
		t.Fatalf("callbacks %+v", cbs)
	}

	nc := e.ctx("login", answer(cbs, map[string]string{"username": "  alice ", "password": "s3cret"}))
	wantOutcome(t, process(t, n, nc), "next")
	if nc.UserName() != "alice" {
		t.Errorf("user %q, want alice (trimmed)", nc.UserName())
	}
	if nc.Transient("password") != "s3cret" {
		t.Error("password not handed on in the transient values")
	}
	if len(e.session.State) != 0 || len(e.session.Data) != 0 {
		t.Errorf("credentials wrote to the session: %v %v", e.session.State, e.session.Data)
	}
}

func TestCredentialsAsksAgainForBadUsername(t *testing.T) {
	n := build(t, "credentials", ``)
	cbs := wantAsk(t, process(t, n, newEnv().ctx("login", nil)), engine.CallbackName, engine.CallbackPassword)
	for _, name := range []string{"", "   ", "a\x00b", string(make([]byte, 300))} {
		e := newEnv()
		nc := e.ctx("login", answer(cbs, map[string]string{"username": name, "password": "pw"}))
		wantAsk(t, process(t, n, nc), engine.CallbackName, engine.CallbackPassword)
		if nc.UserName() != "" || nc.Transient("password") != "" {
			t.Errorf("username %q: user %q set", name, nc.UserName())
		}
	}
}

func TestCredentialsFromRequest(t *testing.T) {
	n := build(t, "credentials", ``)
	e := newEnv()
	e.req = &engine.Request{Protocol: "radius", Credentials: &engine.Credentials{Username: "bob", Password: "pw"}}
	nc := e.ctx("login", nil)
	wantOutcome(t, process(t, n, nc), "next")
	if nc.UserName() != "bob" || nc.Transient("password") != "pw" {
		t.Fatalf("user %q, password taken %v", nc.UserName(), nc.Transient("password") == "pw")
	}
	// Coming back to the node within the same request asks rather than
	// reusing the request's credentials (no silent loop).
	wantAsk(t, process(t, n, nc), engine.CallbackName, engine.CallbackPassword)

	// Credentials without a user name are not taken.
	e = newEnv()
	e.req = &engine.Request{Protocol: "radius", Credentials: &engine.Credentials{Password: "pw"}}
	wantAsk(t, process(t, n, e.ctx("login", nil)), engine.CallbackName, engine.CallbackPassword)
}

func TestCredentialsPrompts(t *testing.T) {
	n := build(t, "credentials", "username_prompt = \"Login\"\npassword_prompt = \"PIN\"\n")
	cbs := wantAsk(t, process(t, n, newEnv().ctx("login", nil)), engine.CallbackName, engine.CallbackPassword)
	if cbs[0].Prompt != "Login" || cbs[1].Prompt != "PIN" {
		t.Fatalf("prompts %q %q", cbs[0].Prompt, cbs[1].Prompt)
	}
	if _, diags := decode(t, "credentials", `prompt = "x"`); !diags.HasErrors() {
		t.Error("unknown setting accepted")
	}
}
