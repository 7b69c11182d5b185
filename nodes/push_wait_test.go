package nodes_test

import (
	"testing"

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
	wantNotAvailable(t, "push_wait", ``)
}
