package nodes_test

import (
	"slices"
	"testing"

	"github.com/authd/authd/engine"
)

func TestChoice(t *testing.T) {
	src := "options = [\"push\", \"code\", \"sms\"]\nprompt = \"How, {{user}}?\"\ndefault = \"push\"\n"
	nt := nodeType(t, "choice")
	cfg := mustDecode(t, "choice", src)
	if got := outcomeNames(nt.Outcomes(cfg)); got != "push,code,sms" {
		t.Fatalf("outcomes %s", got)
	}
	n, err := nt.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv()
	e.session.User = "alice"
	cbs := wantAsk(t, process(t, n, e.ctx("c", nil)), engine.CallbackChoice)
	if cbs[0].ID != "choice" || cbs[0].Prompt != "How, alice?" || !slices.Equal(cbs[0].Options, []string{"push", "code", "sms"}) {
		t.Fatalf("callback %+v", cbs[0])
	}
	for ans, want := range map[string]engine.Outcome{"code": "code", "sms": "sms", "": "push", " SMS ": "sms", "2": "code"} {
		wantOutcome(t, process(t, n, e.ctx("c", answer(cbs, map[string]string{"choice": ans}))), want)
	}
	for _, ans := range []string{"email", "0", "4"} {
		wantAsk(t, process(t, n, e.ctx("c", answer(cbs, map[string]string{"choice": ans}))), engine.CallbackChoice)
	}
	// Without a default a blank answer is asked again.
	n = build(t, "choice", `options = ["a", "b"]`)
	wantAsk(t, process(t, n, e.ctx("c", answer(cbs, map[string]string{"choice": ""}))), engine.CallbackChoice)
}

func TestChoiceSettings(t *testing.T) {
	buildErr(t, "choice", `options = ["a"]`, "options")
	buildErr(t, "choice", `options = ["a", "a"]`, "options")
	buildErr(t, "choice", `options = ["a", "b c"]`, "options")
	buildErr(t, "choice", `options = ["a", "1b"]`, "options")
	buildErr(t, "choice", "options = [\"a\", \"b\"]\ndefault = \"c\"\n", "default")
	if _, diags := decode(t, "choice", ``); !diags.HasErrors() {
		t.Error("missing options accepted")
	}
	// Outcomes skip what New refuses, so dsl reports the setting once.
	if got := outcomeNames(nodeType(t, "choice").Outcomes(mustDecode(t, "choice", `options = ["a", "a", "b c", "d"]`))); got != "a,d" {
		t.Errorf("outcomes %s", got)
	}
}
