package nodes_test

import (
	"testing"

	"github.com/authd/authd/nodes"
)

func TestOTPRegistrationSettings(t *testing.T) {
	cfg := mustDecode(t, "otp_registration", ``).(*nodes.OTPRegistrationConfig)
	if cfg.Algorithm != "SHA1" || cfg.Digits != 6 || cfg.Period != "30s" {
		t.Errorf("defaults %+v", cfg)
	}
	wantOutcomes(t, "otp_registration", ``, "success,failure")
	wantWarnings(t, "otp_registration", ``)
	wantWarnings(t, "otp_registration", "algorithm = \"SHA256\"\ndigits = 8\nperiod = \"60s\"\n", "algorithm", "digits", "period")
	buildErr(t, "otp_registration", `algorithm = "MD5"`, "algorithm")
	buildErr(t, "otp_registration", `digits = 7`, "digits")
	buildErr(t, "otp_registration", `period = "0"`, "period")
	buildErr(t, "otp_registration", `period = "1s"`, "period")
	buildErr(t, "otp_registration", `period = "30500ms"`, "period")
	wantNotAvailable(t, "otp_registration", `issuer = "Corp"`)
}
