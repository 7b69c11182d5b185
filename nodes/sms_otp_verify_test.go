package nodes_test

import (
	"testing"

	"github.com/authd/authd/nodes"
)

func TestSMSOTPVerifySettings(t *testing.T) {
	if cfg := mustDecode(t, "sms_otp_verify", ``).(*nodes.SMSOTPVerifyConfig); cfg.MaxAttempts != 3 {
		t.Errorf("defaults %+v", cfg)
	}
	wantOutcomes(t, "sms_otp_verify", ``, "success,failure,expired,resend")
	wantWarnings(t, "sms_otp_verify", ``)
	wantWarnings(t, "sms_otp_verify", `max_attempts = 0`, "max_attempts")
	buildErr(t, "sms_otp_verify", `max_attempts = -1`, "max_attempts")
	wantNotAvailable(t, "sms_otp_verify", ``)
}
