package nodes_test

import (
	"testing"

	"github.com/authd/authd/nodes"
)

func TestSMSOTPSenderSettings(t *testing.T) {
	if cfg := mustDecode(t, "sms_otp_sender", ``).(*nodes.SMSOTPSenderConfig); cfg.MaxResends != 3 || cfg.CodeTTL != "5m" {
		t.Errorf("defaults %+v", cfg)
	}
	wantOutcomes(t, "sms_otp_sender", ``, "sent,no_phone,failure")
	build(t, "sms_otp_sender", "message = { en = \"{code} is your code\", fr = \"Code : {code}\" }\nmax_resends = 0\ncode_ttl = \"10m\"\n")
	buildErr(t, "sms_otp_sender", `message = { en = "your code" }`, "message")
	buildErr(t, "sms_otp_sender", `max_resends = 11`, "max_resends")
	buildErr(t, "sms_otp_sender", `code_ttl = "0"`, "code_ttl")
	buildErr(t, "sms_otp_sender", `code_ttl = "1d"`, "code_ttl")
	wantNotAvailable(t, "sms_otp_sender", ``)
}
