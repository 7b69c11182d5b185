package nodes_test

import (
	"slices"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/nodes"
)

func TestPushWaitSettings(t *testing.T) {
	if cfg := mustDecode(t, "push_wait", ``).(*nodes.PushWaitConfig); cfg.Seconds != 5 || !cfg.Exit {
		t.Errorf("defaults %+v", cfg)
	}
	wantOutcomes(t, "push_wait", ``, "done,exit")
	wantOutcomes(t, "push_wait", `exit = false`, "done")
	build(t, "push_wait", "seconds = 60\nmessage = { en = \"Waiting for your phone\" }\n")
	buildErr(t, "push_wait", `seconds = 0`, "seconds")
	buildErr(t, "push_wait", `seconds = 61`, "seconds")
}

func TestPushWait(t *testing.T) {
	e, f := pushEnv(t)
	f.devices["alice"] = 1
	nc := e.ctx("push", nil)
	wantOutcome(t, process(t, build(t, "push_sender", `push_type = "challenge"`), nc), "sent")
	id := stateStr(nc, "push_message_id")

	n := build(t, "push_wait", `seconds = 7`)
	cbs := wantAsk(t, process(t, n, e.ctx("wait", nil)), engine.CallbackWait, engine.CallbackText)
	if cbs[0].Seconds != 7 || !cbs[0].Exit || cbs[1].ChallengeNumber != 42 || cbs[1].Message != "Choose 42 on your phone to approve the sign-in." {
		t.Errorf("callbacks %+v", cbs)
	}
	// Coming back (or being woken) leaves by done.
	wantOutcome(t, process(t, n, e.ctx("wait", answer(cbs, map[string]string{"wait": ""}))), "done")
	wantOutcome(t, process(t, n, e.ctx("wait", answer(cbs, nil))), "done")
	// exit withdraws the push.
	wantOutcome(t, process(t, n, e.ctx("wait", answer(cbs, map[string]string{"wait": "exit"}))), "exit")
	if !slices.Equal(f.cancels, []string{id}) {
		t.Errorf("cancels %v", f.cancels)
	}
	// Without exit, "exit" is only "come back".
	noExit := build(t, "push_wait", `exit = false`)
	wantOutcome(t, process(t, noExit, e.ctx("wait", answer(cbs, map[string]string{"wait": "exit"}))), "done")

	// An already answered push does not make anyone wait.
	wantOutcome(t, process(t, n, e.ctx("wait", nil)), "done")
}

func TestPushWaitMessages(t *testing.T) {
	e, f := pushEnv(t)
	f.devices["alice"] = 1
	wantOutcome(t, process(t, build(t, "push_sender", ``), e.ctx("push", nil)), "sent")
	cbs := wantAsk(t, process(t, build(t, "push_wait", ``), e.ctx("wait", nil)), engine.CallbackWait, engine.CallbackText)
	if cbs[1].ChallengeNumber != 0 || cbs[1].Message != "Approve the sign-in request on your phone." {
		t.Errorf("tap push text %+v", cbs[1])
	}
	e.req.Locale = "de"
	e.realm.DefaultLocale = "fr"
	cbs = wantAsk(t, process(t, build(t, "push_wait", `message = { en = "Waiting, {{user}}", fr = "Patience, {{user}}" }`), e.ctx("wait", nil)), engine.CallbackWait, engine.CallbackText)
	if cbs[1].Message != "Patience, alice" {
		t.Errorf("localised text %q (realm default fr)", cbs[1].Message)
	}
	// Expired: done at once, the verifier says expired.
	f.mu.Lock()
	for _, p := range f.pushes {
		p.st.Expires = testNow.Add(-time.Second)
	}
	f.mu.Unlock()
	wantOutcome(t, process(t, build(t, "push_wait", ``), e.ctx("wait", nil)), "done")
	// No push in state: done, and the verifier fails.
	e.session.State["push_message_id"] = cty.NullVal(cty.String)
	wantOutcome(t, process(t, build(t, "push_wait", ``), e.ctx("wait", nil)), "done")
}
