package nodes_test

import "testing"

func TestRecoveryCodeCollectorSettings(t *testing.T) {
	wantOutcomes(t, "recovery_code_collector", ``, "true,false")
	wantNotAvailable(t, "recovery_code_collector", `prompt = "Backup code"`)
}
