package nodes_test

import (
	"testing"

	"github.com/authd/authd/engine"
)

func TestMFARegistrationOptionsSettings(t *testing.T) {
	wantOutcomes(t, "mfa_registration_options", ``, "register,get_app,skip,opt_out")
	wantOutcomes(t, "mfa_registration_options", `get_app = false`, "register,skip,opt_out")
	wantOutcomes(t, "mfa_registration_options", `mandatory = true`, "register,get_app")
	wantOutcomes(t, "mfa_registration_options", `allow_skip = false`, "register,get_app,opt_out")
	wantOutcomes(t, "mfa_registration_options", "get_app = false\nmandatory = true\n", "register")
	wantWarnings(t, "mfa_registration_options", ``)
	wantWarnings(t, "mfa_registration_options", "mandatory = true\nallow_skip = true\n", "allow_skip")
	buildErr(t, "mfa_registration_options", `message = { "e n" = "x" }`, "message")
}

// TestMFARegistrationJourney: PingAM's registration choices through the
// engine: get the app and come back, opt out (which the journey then reads
// from the user), or register a token.
func TestMFARegistrationJourney(t *testing.T) {
	w := newMFAWorld(t)
	w.load(
		compiled(t, "opted", "condition", `when = lookup(user.attributes, "mfa_opt_out", "") == "true"`, map[engine.Outcome]string{"true": "success", "false": "options"}),
		compiled(t, "options", "mfa_registration_options", ``, map[engine.Outcome]string{"register": "reg", "get_app": "app", "skip": "success", "opt_out": "optout"}),
		compiled(t, "app", "get_authenticator_app", "apple_url = \"https://apps.apple.com/app/id1\"\ngoogle_url = \"https://play.google.com/store/apps/details?id=x\"",
			map[engine.Outcome]string{"next": "options"}),
		compiled(t, "optout", "opt_out_mfa", ``, map[engine.Outcome]string{"next": "opted"}),
		compiled(t, "reg", "otp_registration", ``, map[engine.Outcome]string{"success": "success", "failure": "failure"}),
	)
	resp := w.login("alice")
	wantAt(t, resp, "options")
	cb := resp.Callbacks[0]
	if cb.Type != engine.CallbackChoice || cb.Prompt != "Protect your Example Corp account with a second factor." || !slicesEqual(cb.Options, []string{"register", "get_app", "skip", "opt_out"}) {
		t.Fatalf("choice %+v", cb)
	}
	// get_app: the links, then back to the options.
	resp = w.answer(resp, "choice", "get_app")
	wantAt(t, resp, "app")
	if len(resp.Callbacks) != 3 || resp.Callbacks[1].URI != "https://apps.apple.com/app/id1" || resp.Callbacks[2].URI != "https://play.google.com/store/apps/details?id=x" {
		t.Fatalf("links %+v", resp.Callbacks)
	}
	resp = w.answer(resp, "", "")
	wantAt(t, resp, "options")
	// By position (as over RADIUS), 4 = opt_out: the flag is set, and the
	// condition reads it.
	resp = w.answer(resp, "choice", "4")
	wantEnd(t, resp, engine.Success, "")
	if !slicesEqual(resp.Path[len(resp.Path)-2:], []string{"optout", "opted"}) {
		t.Errorf("path %v", resp.Path)
	}
	if u, _ := w.users.Get("corp", "alice"); u.Attributes["mfa_opt_out"] != "true" {
		t.Errorf("attributes %v", u.Attributes)
	}
	// Opted out: the next login skips the options.
	wantEnd(t, w.login("alice"), engine.Success, "")
	// register leads to the token registration; SKIP in any case skips.
	resp = w.answer(w.login("bob"), "choice", "Register")
	wantAt(t, resp, "reg")
	wantEnd(t, w.answer(w.login("bob"), "choice", "SKIP"), engine.Success, "skip")
}

// TestMFARegistrationOptionsAnswers: a blank or unknown answer asks again;
// a localised message is shown.
func TestMFARegistrationOptionsAnswers(t *testing.T) {
	n := build(t, "mfa_registration_options", "mandatory = true\nmessage = { en = \"Set up MFA, {{user}}\", de = \"MFA einrichten\" }")
	e := newEnv()
	e.session.User = "alice"
	res := process(t, n, e.ctx("o", nil))
	cbs := wantAsk(t, res, engine.CallbackChoice)
	if cbs[0].Prompt != "Set up MFA, alice" || !slicesEqual(cbs[0].Options, []string{"register", "get_app"}) {
		t.Errorf("choice %+v", cbs[0])
	}
	for _, a := range []string{"", "skip", "3"} {
		wantAsk(t, process(t, n, e.ctx("o", answer(cbs, map[string]string{"choice": a}))), engine.CallbackChoice)
	}
	e.req.Locale = "de"
	if cbs := wantAsk(t, process(t, n, e.ctx("o", nil)), engine.CallbackChoice); cbs[0].Prompt != "MFA einrichten" {
		t.Errorf("de prompt %q", cbs[0].Prompt)
	}
	wantOutcome(t, process(t, n, e.ctx("o", answer(cbs, map[string]string{"choice": "2"}))), "get_app")
}
