package nodes_test

import (
	"testing"

	"github.com/authd/authd/engine"
)

func TestMessageShowsThenContinues(t *testing.T) {
	n := build(t, "message", `text = "Welcome {{user}} to {{issuer}}"`)
	e := newEnv()
	e.session.User = "alice"
	cbs := wantAsk(t, process(t, n, e.ctx("m", nil)), engine.CallbackText)
	if cbs[0].Message != "Welcome alice to Example Corp" || cbs[0].ID != "message" {
		t.Fatalf("callback %+v", cbs[0])
	}
	if cbs[0].NeedsAnswer() {
		t.Fatal("a message must need no answer")
	}
	wantOutcome(t, process(t, n, e.ctx("m", answer(cbs, nil))), "next")
	if e.session.Data["m"] != "" {
		t.Error("scratch data left behind")
	}
	// A client that sends no callbacks back still moves on.
	wantAsk(t, process(t, n, e.ctx("m", nil)), engine.CallbackText)
	wantOutcome(t, process(t, n, e.ctx("m", nil)), "next")
	// And the node shows the message again when entered afresh later.
	wantAsk(t, process(t, n, e.ctx("m", nil)), engine.CallbackText)
}

func TestMessageLocalised(t *testing.T) {
	src := "text = {\n  en = \"Hello\"\n  fr = \"Bonjour\"\n  de = \"Hallo\"\n}\n"
	n := build(t, "message", src)
	for _, c := range []struct{ locale, def, want string }{
		{"fr", "en", "Bonjour"},
		{"fr-CA", "en", "Bonjour"},
		{"es-ES,de;q=0.8", "en", "Hallo"},
		{"", "de", "Hallo"},
		{"ja", "it", "Hello"},
		{"DE_at", "en", "Hallo"},
	} {
		e := newEnv()
		e.req.Locale = c.locale
		e.realm.DefaultLocale = c.def
		if got := wantAsk(t, process(t, n, e.ctx("m", nil)), engine.CallbackText)[0].Message; got != c.want {
			t.Errorf("locale %q default %q: %q, want %q", c.locale, c.def, got, c.want)
		}
	}
	// No English and no match: the first language in order, never blank.
	n = build(t, "message", "text = {\n  nl = \"Hoi\"\n  fr = \"Salut\"\n}\n")
	e := newEnv()
	e.req.Locale = "ja"
	if got := wantAsk(t, process(t, n, e.ctx("m", nil)), engine.CallbackText)[0].Message; got != "Salut" {
		t.Errorf("fallback %q", got)
	}
}

func TestMessageRuntimeText(t *testing.T) {
	n := build(t, "message", `text = { en = "Hi ${upper(user.name)}" }`)
	e := newEnv()
	e.session.User = "bob"
	if got := wantAsk(t, process(t, n, e.ctx("m", nil)), engine.CallbackText)[0].Message; got != "Hi BOB" {
		t.Errorf("message %q", got)
	}
	n = build(t, "message", `text = state.k`)
	e = newEnv("k")
	if _, err := n.Process(t.Context(), e.ctx("m", nil)); err == nil {
		t.Error("null text: want a fault")
	}
}

func TestMessageSettings(t *testing.T) {
	buildErr(t, "message", `text = 42`, "text")
	buildErr(t, "message", `text = ""`, "text")
	buildErr(t, "message", `text = { "en us" = "x" }`, "text")
	buildErr(t, "message", `text = { en = "" }`, "text")
	buildErr(t, "message", `text = { en = 1 }`, "text")
	buildErr(t, "message", `text = null`, "text")
	buildErr(t, "message", ``, "text")
}
