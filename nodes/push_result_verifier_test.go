package nodes_test

import "testing"

func TestPushResultVerifierSettings(t *testing.T) {
	wantOutcomes(t, "push_result_verifier", ``, "success,failure,expired,waiting")
	if _, diags := decode(t, "push_result_verifier", `seconds = 5`); !diags.HasErrors() {
		t.Error("unknown setting accepted")
	}
	wantNotAvailable(t, "push_result_verifier", ``)
}
