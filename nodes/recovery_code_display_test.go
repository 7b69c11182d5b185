package nodes_test

import (
	"testing"

	"github.com/authd/authd/nodes"
)

func TestRecoveryCodeDisplaySettings(t *testing.T) {
	if cfg := mustDecode(t, "recovery_code_display", ``).(*nodes.RecoveryCodeDisplayConfig); cfg.Count != 10 {
		t.Errorf("default count %d", cfg.Count)
	}
	wantOutcomes(t, "recovery_code_display", ``, "next")
	buildErr(t, "recovery_code_display", `count = 0`, "count")
	buildErr(t, "recovery_code_display", `count = 51`, "count")
	wantNotAvailable(t, "recovery_code_display", `count = 8`)
}
