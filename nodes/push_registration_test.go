package nodes_test

import (
	"testing"

	"github.com/authd/authd/nodes"
)

func TestPushRegistrationSettings(t *testing.T) {
	if cfg := mustDecode(t, "push_registration", ``).(*nodes.PushRegistrationConfig); cfg.Timeout != "120s" {
		t.Errorf("defaults %+v", cfg)
	}
	wantOutcomes(t, "push_registration", ``, "success,failure,timeout")
	build(t, "push_registration", "issuer = \"Corp\"\ntimeout = \"5m\"\n")
	buildErr(t, "push_registration", `timeout = "0"`, "timeout")
	buildErr(t, "push_registration", `timeout = "2h"`, "timeout")
	wantNotAvailable(t, "push_registration", ``)
}
