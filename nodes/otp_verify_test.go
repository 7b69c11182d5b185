package nodes_test

import (
	"testing"

	"github.com/authd/authd/nodes"
)

func TestOTPVerifySettings(t *testing.T) {
	if cfg := mustDecode(t, "otp_verify", ``).(*nodes.OTPVerifyConfig); cfg.Window != 1 {
		t.Errorf("default window %d", cfg.Window)
	}
	wantOutcomes(t, "otp_verify", ``, "success,failure,not_enrolled")
	build(t, "otp_verify", `window = 0`)
	buildErr(t, "otp_verify", `window = -1`, "window")
	buildErr(t, "otp_verify", `window = 11`, "window")
	wantNotAvailable(t, "otp_verify", `window = 2`)
}
