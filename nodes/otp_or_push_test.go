package nodes_test

import (
	"strings"
	"testing"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/mfa"
	"github.com/authd/authd/nodes"
)

func TestOTPOrPushSettings(t *testing.T) {
	cfg := mustDecode(t, "otp_or_push", ``).(*nodes.OTPOrPushConfig)
	if !strings.HasPrefix(cfg.Prompt, "+Please enter the token code.") {
		t.Errorf("default prompt %q", cfg.Prompt)
	}
	wantOutcomes(t, "otp_or_push", ``, "code,push,not_enrolled")
	build(t, "otp_or_push", `prompt = "Enter the code from your app."`)
}

// TestOTPOrPushPrompt: the configured prompt is shown, {{issuer}} expanded;
// a user with only a token (no push service at all) is asked too.
func TestOTPOrPushPrompt(t *testing.T) {
	w := newMFAWorld(t)
	w.eng.Services().Push = nil
	w.load(compiled(t, "mfa", "otp_or_push", `prompt = "+Code for {{issuer}}, or blank for a push"`,
		map[engine.Outcome]string{"code": "success", "push": "failure", "not_enrolled": "failure"}))
	wantEnd(t, w.login("alice"), engine.Failure, "no OTP token and no push device")
	w.enrol("alice", mfa.Params{})
	resp := w.login("alice")
	wantAt(t, resp, "mfa")
	if p := resp.Callbacks[0].Prompt; p != "+Code for Example Corp, or blank for a push" {
		t.Errorf("prompt %q", p)
	}
	wantEnd(t, w.answer(resp, "code", "123 456"), engine.Success, "code entered")
}
