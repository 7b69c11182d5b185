package nodes_test

import (
	"slices"
	"testing"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/nodes"
)

func TestPushSenderSettings(t *testing.T) {
	nt := nodeType(t, "push_sender")
	cfg := mustDecode(t, "push_sender", ``).(*nodes.PushSenderConfig)
	if cfg.MessageTimeout != "120s" || cfg.PushType != "tap" || cfg.Timeout() != 120*time.Second {
		t.Errorf("defaults %+v", cfg)
	}
	if got := nt.StateKeys(cfg); !slices.Equal(got, []string{"push_message_id", "push_failure_reason", "mfa_method"}) {
		t.Errorf("StateKeys %v", got)
	}
	if got := nt.Provides(cfg, "sent"); !slices.Equal(got, []engine.Fact{engine.FactPushSent}) {
		t.Errorf("Provides(sent) %v", got)
	}

	wantOutcomes(t, "push_sender", ``, "sent,not_registered,skipped")
	wantOutcomes(t, "push_sender", `remove_skip = true`, "sent,not_registered")
	wantOutcomes(t, "push_sender", `capture_failure = true`, "sent,not_registered,skipped,failure")
	wantOutcomes(t, "push_sender", "remove_skip = true\ncapture_failure = true\n", "sent,not_registered,failure")

	example := `message_timeout = "120s"
push_type       = "challenge"
user_message    = { en = "Login attempt from {{user}} at {{issuer}}", fr = "Connexion de {{user}}" }
share_context   = true
custom_payload  = ["device_ip", "greeting"]
remove_skip     = true
capture_failure = true
`
	build(t, "push_sender", example)
	wantWarnings(t, "push_sender", example)
	wantWarnings(t, "push_sender", `message_timeout = "0"`, "message_timeout")
	build(t, "push_sender", `message_timeout = "0"`)
	if c := mustDecode(t, "push_sender", `message_timeout = "0"`).(*nodes.PushSenderConfig); c.Timeout() != 0 {
		t.Errorf("Timeout of \"0\" = %v", c.Timeout())
	}

	buildErr(t, "push_sender", `message_timeout = "soon"`, "message_timeout")
	buildErr(t, "push_sender", `message_timeout = "2d"`, "message_timeout")
	buildErr(t, "push_sender", `push_type = "sms"`, "push_type")
	buildErr(t, "push_sender", `user_message = { "" = "x" }`, "user_message")
	buildErr(t, "push_sender", `custom_payload = ["a b"]`, "custom_payload")
	buildErr(t, "push_sender", `custom_payload = ["a", "a"]`, "custom_payload")
	wantNotAvailable(t, "push_sender", ``)
}
