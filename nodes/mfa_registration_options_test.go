package nodes_test

import "testing"

func TestMFARegistrationOptionsSettings(t *testing.T) {
	wantOutcomes(t, "mfa_registration_options", ``, "register,get_app,skip,opt_out")
	wantOutcomes(t, "mfa_registration_options", `get_app = false`, "register,skip,opt_out")
	wantOutcomes(t, "mfa_registration_options", `mandatory = true`, "register,get_app")
	wantOutcomes(t, "mfa_registration_options", `allow_skip = false`, "register,get_app,opt_out")
	wantOutcomes(t, "mfa_registration_options", "get_app = false\nmandatory = true\n", "register")
	wantWarnings(t, "mfa_registration_options", ``)
	wantWarnings(t, "mfa_registration_options", "mandatory = true\nallow_skip = true\n", "allow_skip")
	buildErr(t, "mfa_registration_options", `message = { "e n" = "x" }`, "message")
	wantNotAvailable(t, "mfa_registration_options", ``)
}
