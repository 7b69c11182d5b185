package nodes_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/mfa"
	"github.com/authd/authd/nodes"
)

func TestOTPRegistrationSettings(t *testing.T) {
	cfg := mustDecode(t, "otp_registration", ``).(*nodes.OTPRegistrationConfig)
	if cfg.Type != "totp" || cfg.Algorithm != "SHA1" || cfg.Digits != 6 || cfg.Period != "30s" {
		t.Errorf("defaults %+v", cfg)
	}
	wantOutcomes(t, "otp_registration", ``, "success,failure")
	wantWarnings(t, "otp_registration", ``)
	wantWarnings(t, "otp_registration", "algorithm = \"SHA256\"\ndigits = 8\nperiod = \"60s\"\n", "algorithm", "digits", "period")
	wantWarnings(t, "otp_registration", `type = "hotp"`, "type")
	buildErr(t, "otp_registration", `type = "motp"`, "type")
	buildErr(t, "otp_registration", `algorithm = "MD5"`, "algorithm")
	buildErr(t, "otp_registration", `digits = 7`, "digits")
	buildErr(t, "otp_registration", `period = "0"`, "period")
	buildErr(t, "otp_registration", `period = "1s"`, "period")
	buildErr(t, "otp_registration", `period = "30500ms"`, "period")
	build(t, "otp_registration", `issuer = "Corp"`)
}

func (w *mfaWorld) registrationJourney(settings string) {
	w.load(compiled(w.t, "reg", "otp_registration", settings, map[engine.Outcome]string{"success": "success", "failure": "failure"}))
}

// registration returns the URI the registration page shows, checking the
// callbacks: instructions with the key, the QR code, the code field.
func registration(t *testing.T, resp *engine.Response) *mfa.URIKey {
	t.Helper()
	wantAt(t, resp, "reg")
	if len(resp.Callbacks) != 3 || resp.Callbacks[0].Type != engine.CallbackText || resp.Callbacks[1].Type != engine.CallbackQR || resp.Callbacks[2].Type != engine.CallbackCode {
		t.Fatalf("callbacks %+v", resp.Callbacks)
	}
	uri := resp.Callbacks[1].URI
	k, err := mfa.ParseURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(uri)
	secret := u.Query().Get("secret")
	if !strings.Contains(strings.ReplaceAll(resp.Callbacks[0].Message, " ", ""), secret) {
		t.Errorf("the key is not in the instructions: %q", resp.Callbacks[0].Message)
	}
	return k
}

func TestOTPRegistrationJourney(t *testing.T) {
	w := newMFAWorld(t)
	w.registrationJourney(``)
	resp := w.login("alice")
	k := registration(t, resp)
	if k.Issuer != "Example Corp" || k.Account != "alice" || k.Type != mfa.TypeTOTP || k.Digits != 6 || k.Period != 30*time.Second || k.Algorithm != "SHA1" {
		t.Errorf("token %+v", k)
	}
	// Pending: it does not count yet.
	if ok, _ := w.mfa.HasToken("corp", "alice"); ok {
		t.Error("an unconfirmed token counts")
	}
	// A wrong code shows the same token again, with a hint.
	resp = w.answer(resp, "code", "000000")
	if k2 := registration(t, resp); k2.Issuer != k.Issuer || codeAt(t, k2, w.clock.Now()) != codeAt(t, k, w.clock.Now()) {
		t.Error("a different token after a wrong code")
	}
	if !strings.Contains(resp.Callbacks[0].Message, "not right") {
		t.Errorf("no hint: %q", resp.Callbacks[0].Message)
	}
	code := codeAt(t, k, w.clock.Now())
	wantEnd(t, w.answer(resp, "code", code), engine.Success, "registered")
	if ok, _ := w.mfa.HasToken("corp", "alice"); !ok {
		t.Fatal("the confirmed token does not count")
	}
	// The confirming code cannot log in again; the next one can.
	if res, _ := w.mfa.Verify("corp", "alice", code, 1, w.clock.Now()); res != mfa.Replayed {
		t.Errorf("confirming code: %v", res)
	}
	// single_device: a second registration fails before showing anything.
	resp = w.login("alice")
	wantEnd(t, resp, engine.Failure, "single_device")
	// override_allowed: the new token replaces the old.
	w.realm.EnrollmentMode = "override_allowed"
	resp = w.login("alice")
	k3 := registration(t, resp)
	wantEnd(t, w.answer(resp, "code", codeAt(t, k3, w.clock.Now())), engine.Success, "")
	if ts, _ := w.mfa.Tokens("corp", "alice"); len(ts) != 1 {
		t.Errorf("%d tokens after override", len(ts))
	}
	// multiple_devices: kept side by side.
	w.realm.EnrollmentMode = "multiple_devices"
	resp = w.login("alice")
	k4 := registration(t, resp)
	wantEnd(t, w.answer(resp, "code", codeAt(t, k4, w.clock.Now())), engine.Success, "")
	if ts, _ := w.mfa.Tokens("corp", "alice"); len(ts) != 2 {
		t.Errorf("%d tokens with multiple_devices", len(ts))
	}
}

func TestOTPRegistrationLimits(t *testing.T) {
	w := newMFAWorld(t)
	w.registrationJourney(`issuer = "Corp VPN"`)
	// Three wrong codes end it, and the pending token is gone.
	resp := w.login("alice")
	if k := registration(t, resp); k.Issuer != "Corp VPN" {
		t.Errorf("issuer %q", k.Issuer)
	}
	for i := 0; i < 2; i++ {
		resp = w.answer(resp, "code", "000000")
		wantAt(t, resp, "reg")
	}
	wantEnd(t, w.answer(resp, "code", "000000"), engine.Failure, "3 wrong confirmation codes")
	if ts, _ := w.mfa.Tokens("corp", "alice"); len(ts) != 0 {
		t.Errorf("tokens left: %+v", ts)
	}
	// An enrolment left open past mfa.PendingTTL expires.
	w.realm.Lockout = nil
	resp = w.login("alice")
	k := registration(t, resp)
	w.clock.add(mfa.PendingTTL + time.Minute)
	resp2, err := w.eng.Resume(t.Context(), resp.Session, []engine.Callback{{ID: "code", Value: ptr(codeAt(t, k, w.clock.Now()))}}, engine.Request{})
	if err == nil {
		wantEnd(t, resp2, engine.Failure, "expired")
	} // else the session itself expired first, which is as good
	// HOTP on request, 8 digits, SHA512.
	w.registrationJourney("type = \"hotp\"\ndigits = 8\nalgorithm = \"SHA512\"")
	resp = w.login("bob")
	k = registration(t, resp)
	if k.Type != mfa.TypeHOTP || k.Digits != 8 || k.Algorithm != "SHA512" {
		t.Errorf("hotp token %+v", k)
	}
	c0, _ := k.CodeAt(0)
	wantEnd(t, w.answer(resp, "code", c0), engine.Success, "")
	c1, _ := k.CodeAt(1)
	if res, _ := w.mfa.Verify("corp", "bob", c1, 1, w.clock.Now()); res != mfa.Valid {
		t.Errorf("the next HOTP code after confirmation: %v", res)
	}
	// An unknown user cannot register.
	wantEnd(t, w.login("nobody"), engine.Failure, "no such user")
}

func ptr(s string) *string { return &s }
