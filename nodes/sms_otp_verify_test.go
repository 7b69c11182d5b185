package nodes_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/users"
	"github.com/authd/authd/nodes"
)

func TestSMSOTPVerifySettings(t *testing.T) {
	if cfg := mustDecode(t, "sms_otp_verify", ``).(*nodes.SMSOTPVerifyConfig); cfg.MaxAttempts != 3 {
		t.Errorf("defaults %+v", cfg)
	}
	wantOutcomes(t, "sms_otp_verify", ``, "success,failure,expired,resend")
	wantWarnings(t, "sms_otp_verify", ``)
	wantWarnings(t, "sms_otp_verify", `max_attempts = 0`, "max_attempts")
	buildErr(t, "sms_otp_verify", `max_attempts = -1`, "max_attempts")
}

// smsJourney: send a code, check it; expired and resend go back to the
// sender (which enforces max_resends).
func (w *mfaWorld) smsJourney(sender, verify string) {
	w.load(
		compiled(w.t, "send", "sms_otp_sender", sender, map[engine.Outcome]string{"sent": "verify", "no_phone": "failure", "failure": "failure"}),
		compiled(w.t, "verify", "sms_otp_verify", verify, map[engine.Outcome]string{"success": "success", "failure": "failure", "expired": "send", "resend": "send"}),
	)
}

func TestSMSJourney(t *testing.T) {
	w := newMFAWorld(t)
	w.smsJourney(``, ``)
	resp := w.login("alice")
	wantAt(t, resp, "verify")
	if cb := resp.Callbacks[0]; cb.Type != engine.CallbackCode || cb.Prompt != "SMS code" {
		t.Errorf("callback %+v", cb)
	}
	code := w.tw.LastCode(alicePhone)
	if len(code) != 6 {
		t.Fatalf("sent %+v", w.tw.Messages())
	}
	// The session keeps a keyed hash, never the code.
	s, _ := w.eng.Session(resp.Session)
	if b, _ := json.Marshal(s); strings.Contains(string(b), code) {
		t.Error("the SMS code is stored in the session")
	}
	// A blank answer asks again and counts as nothing; the code passes.
	resp = w.answer(resp, "code", "")
	wantAt(t, resp, "verify")
	wantEnd(t, w.answer(resp, "code", code[:3]+" "+code[3:]), engine.Success, "SMS code accepted")
	// No phone.
	wantEnd(t, w.login("bob"), engine.Failure, "no phone number")
	if len(w.tw.Messages()) != 1 {
		t.Error("a message without a phone")
	}
	// The gateway refuses: failure, without the code in the reason.
	w.tw.FailNext(400, 21211, "The 'To' number is not valid")
	resp = w.login("alice")
	wantEnd(t, resp, engine.Failure, "did not take the message")
}

// TestSMSCodeOnce: a code that passed does not pass again (replay).
func TestSMSCodeOnce(t *testing.T) {
	w := newMFAWorld(t)
	w.load(
		compiled(t, "send", "sms_otp_sender", ``, map[engine.Outcome]string{"sent": "verify", "no_phone": "failure", "failure": "failure"}),
		compiled(t, "verify", "sms_otp_verify", ``, map[engine.Outcome]string{"success": "again", "failure": "failure", "expired": "failure", "resend": "failure"}),
		compiled(t, "again", "sms_otp_verify", ``, map[engine.Outcome]string{"success": "success", "failure": "failure", "expired": "failure", "resend": "failure"}),
	)
	resp := w.answer(w.login("alice"), "code", w.tw.LastCode(alicePhone))
	wantEnd(t, resp, engine.Failure, "no SMS code is outstanding")
	if !slicesEqual(resp.Path, []string{"login", "send", "verify", "again"}) {
		t.Errorf("path %v", resp.Path)
	}
}

func TestSMSAttempts(t *testing.T) {
	w := newMFAWorld(t)
	w.smsJourney(``, `max_attempts = 2`)
	resp := w.login("alice")
	code := w.tw.LastCode(alicePhone)
	resp = w.answer(resp, "code", "000000")
	wantAt(t, resp, "verify")
	resp = w.answer(resp, "code", "000001")
	wantEnd(t, resp, engine.Failure, "2 wrong SMS codes (max_attempts = 2)")
	// The code died with the attempts.
	if len(w.tw.Messages()) != 1 {
		t.Error("extra messages")
	}
	_ = code

	// max_attempts = 0: unlimited within the code's lifetime.
	w.realm.Lockout = nil
	w.smsJourney(``, `max_attempts = 0`)
	resp = w.login("alice")
	code = w.tw.LastCode(alicePhone)
	for i := 0; i < 20; i++ {
		resp = w.answer(resp, "code", "99999"+string(rune('0'+i%10)))
		wantAt(t, resp, "verify")
	}
	wantEnd(t, w.answer(resp, "code", code), engine.Success, "")
}

func TestSMSResends(t *testing.T) {
	w := newMFAWorld(t)
	w.smsJourney(`max_resends = 1`, ``)
	resp := w.login("alice")
	first := w.tw.LastCode(alicePhone)
	// "resend" sends a new code; the old one is void.
	resp = w.answer(resp, "code", "Resend")
	wantAt(t, resp, "verify")
	if n := len(w.tw.Messages()); n != 2 {
		t.Fatalf("%d messages after a resend", n)
	}
	second := w.tw.LastCode(alicePhone)
	if first != second {
		resp = w.answer(resp, "code", first)
		wantAt(t, resp, "verify")
	}
	// The second resend is over max_resends = 1: failure, nothing sent.
	resp = w.answer(resp, "code", "resend")
	wantEnd(t, resp, engine.Failure, "resend limit reached (max_resends = 1)")
	if n := len(w.tw.Messages()); n != 2 {
		t.Errorf("%d messages, want 2", n)
	}
	// max_resends = 0: no resend at all.
	w.smsJourney(`max_resends = 0`, ``)
	resp = w.answer(w.login("alice"), "code", "resend")
	wantEnd(t, resp, engine.Failure, "max_resends = 0")
	if n := len(w.tw.Messages()); n != 3 {
		t.Errorf("%d messages, want 3", n)
	}
}

func TestSMSExpiry(t *testing.T) {
	w := newMFAWorld(t)
	w.smsJourney("code_ttl = \"1m\"\nmax_resends = 1", ``)
	resp := w.login("alice")
	code := w.tw.LastCode(alicePhone)
	// One second before the end the code works...
	w.clock.add(59 * time.Second)
	wantEnd(t, w.answer(resp, "code", code), engine.Success, "")
	// ...at the end it is expired, even when right: a new one is sent.
	resp = w.login("alice")
	code = w.tw.LastCode(alicePhone)
	w.clock.add(60 * time.Second)
	resp = w.answer(resp, "code", code)
	wantAt(t, resp, "verify")
	if !slicesEqual(resp.Path[len(resp.Path)-3:], []string{"verify", "send", "verify"}) {
		t.Errorf("path %v", resp.Path)
	}
	fresh := w.tw.LastCode(alicePhone)
	if n := len(w.tw.Messages()); n != 3 {
		t.Fatalf("%d messages", n)
	}
	// The new code expires too, and the resends are spent: failure.
	w.clock.add(2 * time.Minute)
	wantEnd(t, w.answer(resp, "code", fresh), engine.Failure, "resend limit")
}

// TestSMSLockout: wrong SMS codes count toward the realm's lockout, and a
// locked account gets no SMS at all.
func TestSMSLockout(t *testing.T) {
	w := newMFAWorld(t)
	w.realm.Lockout = &users.Lockout{MaxFailures: 2, Window: time.Hour, Duration: time.Hour}
	w.smsJourney(``, `max_attempts = 5`)
	resp := w.login("alice")
	code := w.tw.LastCode(alicePhone)
	resp = w.answer(resp, "code", "000000")
	wantAt(t, resp, "verify")
	resp = w.answer(resp, "code", "000001")
	wantEnd(t, resp, engine.Failure, "account locked")
	resp = w.login("alice")
	wantEnd(t, resp, engine.Failure, "account locked")
	if n := len(w.tw.Messages()); n != 1 {
		t.Errorf("%d messages to a locked account", n)
	}
	_ = code
}
