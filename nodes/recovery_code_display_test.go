package nodes_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/nodes"
)

func TestRecoveryCodeDisplaySettings(t *testing.T) {
	if cfg := mustDecode(t, "recovery_code_display", ``).(*nodes.RecoveryCodeDisplayConfig); cfg.Count != 10 {
		t.Errorf("default count %d", cfg.Count)
	}
	wantOutcomes(t, "recovery_code_display", ``, "next")
	buildErr(t, "recovery_code_display", `count = 0`, "count")
	buildErr(t, "recovery_code_display", `count = 51`, "count")
	build(t, "recovery_code_display", `count = 8`)
}

// shownCodes returns the codes a recovery_code_display suspension shows.
func shownCodes(t *testing.T, resp *engine.Response) []string {
	t.Helper()
	wantAt(t, resp, "show")
	if len(resp.Callbacks) != 2 || resp.Callbacks[0].Type != engine.CallbackText || resp.Callbacks[1].ID != "codes" {
		t.Fatalf("callbacks %+v", resp.Callbacks)
	}
	return strings.Split(resp.Callbacks[1].Message, "\n")
}

func TestRecoveryCodeDisplayJourney(t *testing.T) {
	w := newMFAWorld(t)
	w.load(compiled(t, "show", "recovery_code_display", ``, map[engine.Outcome]string{"next": "success"}))
	resp := w.login("alice")
	codes := shownCodes(t, resp)
	if len(codes) != 10 || !strings.Contains(resp.Callbacks[0].Message, "will not be shown again") {
		t.Fatalf("shown %q / %q", resp.Callbacks[0].Message, codes)
	}
	if st, _ := w.mfa.RecoveryCodes("corp", "alice"); st.Left != 10 {
		t.Errorf("stored %+v", st)
	}
	// The user comes back: the journey moves on, and the finished session
	// keeps no code.
	resp = w.answer(resp, "", "")
	wantEnd(t, resp, engine.Success, "")
	s, _ := w.eng.Session(resp.Session)
	if b, _ := json.Marshal(s); strings.Contains(string(b), codes[0]) {
		t.Error("a finished session keeps the codes")
	}
	// Another pass makes a new set (count and message from the settings)
	// and voids the old one.
	w.load(compiled(t, "show", "recovery_code_display", "count = 3\nmessage = { en = \"Codes for {{user}}\" }", map[engine.Outcome]string{"next": "success"}))
	resp = w.login("alice")
	fresh := shownCodes(t, resp)
	if len(fresh) != 3 || resp.Callbacks[0].Message != "Codes for alice" {
		t.Errorf("second set %q %q", resp.Callbacks[0].Message, fresh)
	}
	if ok, _ := w.mfa.UseRecoveryCode("corp", "alice", codes[0]); ok {
		t.Error("an old code survived a new set")
	}
}
