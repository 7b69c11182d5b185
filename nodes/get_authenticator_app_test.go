package nodes_test

import "testing"

func TestGetAuthenticatorAppSettings(t *testing.T) {
	wantOutcomes(t, "get_authenticator_app", ``, "next")
	if ws := nodeType(t, "get_authenticator_app").Warnings(mustDecode(t, "get_authenticator_app", ``)); len(ws) != 1 || !ws[0].Warning {
		t.Errorf("no links: warnings %v", ws)
	}
	src := "apple_url = \"https://apps.apple.com/app/id1\"\ngoogle_url = \"https://play.google.com/store/apps/details?id=x\"\n"
	wantWarnings(t, "get_authenticator_app", src)
	build(t, "get_authenticator_app", src)
	buildErr(t, "get_authenticator_app", `apple_url = "apps.apple.com/x"`, "apple_url")
	buildErr(t, "get_authenticator_app", `google_url = "javascript:alert(1)"`, "google_url")
	wantNotAvailable(t, "get_authenticator_app", src)
}
