package nodes_test

import (
	"testing"

	"github.com/authd/authd/engine"
)

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
}

func TestGetAuthenticatorAppShows(t *testing.T) {
	n := build(t, "get_authenticator_app", "google_url = \"https://play.google.com/x\"\nmessage = { en = \"Get the {{issuer}} app\" }")
	e := newEnv()
	cbs := wantAsk(t, process(t, n, e.ctx("app", nil)), engine.CallbackText, engine.CallbackText)
	if cbs[0].Message != "Get the Example Corp app" || cbs[1].ID != "google_url" || cbs[1].Message != "Google Play: https://play.google.com/x" {
		t.Errorf("callbacks %+v", cbs)
	}
	// Coming back continues; the node's data is cleared.
	wantOutcome(t, process(t, n, e.ctx("app", answer(cbs, nil))), "next")
	if e.session.Data["app"] != "" {
		t.Error("data left behind")
	}
}
