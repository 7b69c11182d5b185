package nodes_test

import (
	"strings"
	"testing"

	"github.com/authd/authd/nodes"
)

func TestOTPOrPushSettings(t *testing.T) {
	cfg := mustDecode(t, "otp_or_push", ``).(*nodes.OTPOrPushConfig)
	if !strings.HasPrefix(cfg.Prompt, "+Please enter the token code.") {
		t.Errorf("default prompt %q", cfg.Prompt)
	}
	wantOutcomes(t, "otp_or_push", ``, "code,push,not_enrolled")
	build(t, "otp_or_push", `prompt = "Enter the code from your app."`)
	wantNotAvailable(t, "otp_or_push", ``)
}
