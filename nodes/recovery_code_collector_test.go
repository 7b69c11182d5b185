package nodes_test

import (
	"testing"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/users"
)

func TestRecoveryCodeCollectorSettings(t *testing.T) {
	wantOutcomes(t, "recovery_code_collector", ``, "true,false")
	build(t, "recovery_code_collector", `prompt = "Backup code"`)
}

func TestRecoveryCodeCollectorJourney(t *testing.T) {
	w := newMFAWorld(t)
	w.realm.Lockout = &users.Lockout{MaxFailures: 3, Window: time.Hour, Duration: time.Hour}
	w.load(compiled(t, "recover", "recovery_code_collector", `prompt = "Backup code"`, map[engine.Outcome]string{"true": "success", "false": "failure"}))
	codes, err := w.mfa.GenerateRecoveryCodes("corp", "alice", 10, w.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp := w.login("alice")
	wantAt(t, resp, "recover")
	if cb := resp.Callbacks[0]; cb.Type != engine.CallbackCode || cb.Prompt != "Backup code" {
		t.Errorf("callback %+v", cb)
	}
	wantEnd(t, w.answer(resp, "code", codes[0]), engine.Success, "recovery code accepted")
	// Each code works once.
	wantEnd(t, w.answer(w.login("alice"), "code", codes[0]), engine.Failure, "wrong recovery code")
	if st, _ := w.mfa.RecoveryCodes("corp", "alice"); st.Left != 9 || st.Used != 1 {
		t.Errorf("status %+v", st)
	}
	// A blank answer is false and not counted; wrong codes count toward
	// the lockout (the one above was the first).
	wantEnd(t, w.answer(w.login("alice"), "code", " "), engine.Failure, "no recovery code")
	wantEnd(t, w.answer(w.login("alice"), "code", "nope"), engine.Failure, "wrong recovery code")
	wantEnd(t, w.answer(w.login("alice"), "code", "aaaa-bbbb-cccc-dddd"), engine.Failure, "account locked")
	// Locked: false before asking, and a right code is neither checked nor
	// used up.
	wantEnd(t, w.login("alice"), engine.Failure, "account locked")
	w.users.Unlock("corp", "alice")
	wantEnd(t, w.answer(w.login("alice"), "code", codes[1]), engine.Success, "")
	// A user without codes gets false.
	wantEnd(t, w.answer(w.login("bob"), "code", codes[2]), engine.Failure, "wrong recovery code")
}
