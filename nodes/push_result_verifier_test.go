package nodes_test

import (
	"testing"

	"github.com/authd/authd/engine"
)

func TestPushResultVerifierSettings(t *testing.T) {
	wantOutcomes(t, "push_result_verifier", ``, "success,failure,expired,waiting")
	if _, diags := decode(t, "push_result_verifier", `seconds = 5`); !diags.HasErrors() {
		t.Error("unknown setting accepted")
	}
}

func TestPushResultVerifier(t *testing.T) {
	e, f := pushEnv(t)
	f.devices["alice"] = 1
	sender := build(t, "push_sender", ``)
	v := build(t, "push_result_verifier", ``)
	for _, c := range []struct {
		state, reason string
		want          engine.Outcome
	}{
		{engine.PushApproved, "", "success"},
		{engine.PushDenied, "denied", "failure"},
		{engine.PushDenied, "wrong_number", "failure"},
		{engine.PushDenied, "reported", "failure"},
		{engine.PushExpired, "", "expired"},
	} {
		nc := e.ctx("push", nil)
		wantOutcome(t, process(t, sender, nc), "sent")
		id := stateStr(nc, "push_message_id")
		wantOutcome(t, process(t, v, e.ctx("verify", nil)), "waiting")
		if stateStr(e.ctx("x", nil), "push_message_id") != id {
			t.Fatal("waiting cleared the message id")
		}
		f.set(id, c.state, c.reason)
		res := process(t, v, e.ctx("verify", nil))
		wantOutcome(t, res, c.want)
		if got := stateStr(e.ctx("x", nil), "push_message_id"); got != "" {
			t.Errorf("%s: message id %q left after a final outcome", c.state, got)
		}
	}
	// No outstanding push, or a forged id: failure.
	wantOutcome(t, process(t, v, e.ctx("verify", nil)), "failure")
	nc := e.ctx("verify", nil)
	nc.SetState("push_message_id", ctyString("forged"))
	wantOutcome(t, process(t, v, nc), "failure")
}
