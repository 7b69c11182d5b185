package nodes_test

import "testing"

func TestOptOutMFASettings(t *testing.T) {
	wantOutcomes(t, "opt_out_mfa", ``, "next")
	wantNotAvailable(t, "opt_out_mfa", ``)
}
