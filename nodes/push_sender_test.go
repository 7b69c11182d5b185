package nodes_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/engine/users"
	"github.com/authd/authd/nodes"
)

func TestPushSenderSettings(t *testing.T) {
	nt := nodeType(t, "push_sender")
	cfg := mustDecode(t, "push_sender", ``).(*nodes.PushSenderConfig)
	if cfg.MessageTimeout != "120s" || cfg.PushType != "tap" || cfg.Timeout() != 120*time.Second {
		t.Errorf("defaults %+v", cfg)
	}
	if got := nt.StateKeys(cfg); !slices.Equal(got, []string{"push_message_id", "push_failure_reason", "mfa_method"}) {
		t.Errorf("StateKeys %v", got)
	}
	if got := nt.Provides(cfg, "sent"); !slices.Equal(got, []engine.Fact{engine.FactPushSent}) {
		t.Errorf("Provides(sent) %v", got)
	}

	wantOutcomes(t, "push_sender", ``, "sent,not_registered,skipped")
	wantOutcomes(t, "push_sender", `remove_skip = true`, "sent,not_registered")
	wantOutcomes(t, "push_sender", `capture_failure = true`, "sent,not_registered,skipped,failure")
	wantOutcomes(t, "push_sender", "remove_skip = true\ncapture_failure = true\n", "sent,not_registered,failure")

	example := `message_timeout = "120s"
push_type       = "challenge"
user_message    = { en = "Login attempt from {{user}} at {{issuer}}", fr = "Connexion de {{user}}" }
share_context   = true
custom_payload  = ["device_ip", "greeting"]
remove_skip     = true
capture_failure = true
`
	build(t, "push_sender", example)
	wantWarnings(t, "push_sender", example)
	wantWarnings(t, "push_sender", `message_timeout = "0"`, "message_timeout")
	build(t, "push_sender", `message_timeout = "0"`)
	if c := mustDecode(t, "push_sender", `message_timeout = "0"`).(*nodes.PushSenderConfig); c.Timeout() != 0 {
		t.Errorf("Timeout of \"0\" = %v", c.Timeout())
	}

	buildErr(t, "push_sender", `message_timeout = "soon"`, "message_timeout")
	buildErr(t, "push_sender", `message_timeout = "2d"`, "message_timeout")
	buildErr(t, "push_sender", `push_type = "sms"`, "push_type")
	buildErr(t, "push_sender", `user_message = { "" = "x" }`, "user_message")
	buildErr(t, "push_sender", `custom_payload = ["a b"]`, "custom_payload")
	buildErr(t, "push_sender", `custom_payload = ["a", "a"]`, "custom_payload")
}

// pushEnv is a test env with the fake push service and alice known.
func pushEnv(t *testing.T) (*env, *fakePush) {
	t.Helper()
	e := newEnv("push_message_id", "push_failure_reason", "mfa_method", "device_ip", "greeting")
	f := newFakePush()
	e.svc.Push = f
	e.session.User = "alice"
	e.session.Expires = testNow.Add(10 * time.Minute)
	return e, f
}

func stateStr(nc *engine.Context, k string) string {
	v := nc.State(k)
	if v.IsNull() || v.Type() != cty.String {
		return ""
	}
	return v.AsString()
}

func TestPushSenderSends(t *testing.T) {
	e, f := pushEnv(t)
	f.devices["alice"] = 2
	e.req = &engine.Request{Protocol: "api", ClientIP: "192.0.2.7", UserAgent: "curl/8", Locale: "fr-CA,fr;q=0.8"}
	n := build(t, "push_sender", `push_type = "challenge"
message_timeout = "60s"
user_message = { en = "Login of {{user}} at {{issuer}}", fr = "Connexion de {{user}} chez {{issuer}}" }
share_context = true
custom_payload = ["greeting", "missing"]
`)
	nc := e.ctx("push", nil)
	nc.SetState("greeting", cty.StringVal("hi"))
	wantOutcome(t, process(t, n, nc), "sent")
	if got := stateStr(nc, "push_message_id"); got != "m1" {
		t.Errorf("push_message_id = %q", got)
	}
	if got := stateStr(nc, "mfa_method"); got != "push" {
		t.Errorf("mfa_method = %q", got)
	}
	p := f.sent[0]
	if p.Message != "Connexion de alice chez Example Corp" || p.Type != "challenge" || p.User != "alice" || p.SessionID != "test-session-id" {
		t.Errorf("request %+v", p)
	}
	if !p.Expires.Equal(testNow.Add(time.Minute)) {
		t.Errorf("expires %v", p.Expires)
	}
	if p.Context["ip"] != "192.0.2.7" || p.Context["user_agent"] != "curl/8" {
		t.Errorf("context %v", p.Context)
	}
	var custom map[string]any
	if err := json.Unmarshal(p.Custom, &custom); err != nil || custom["greeting"] != "hi" || custom["missing"] != nil {
		t.Errorf("custom %s %v", p.Custom, err)
	}

	// A second pass while the push is pending: SENDER_ALREADY_USED is a
	// fault without capture_failure.
	if _, err := n.Process(t.Context(), e.ctx("push", nil)); err == nil || !strings.Contains(err.Error(), "SENDER_ALREADY_USED") {
		t.Errorf("second send: %v", err)
	}
	// Once the push is final, a new one goes out.
	f.set("m1", engine.PushExpired, "")
	nc = e.ctx("push", nil)
	wantOutcome(t, process(t, n, nc), "sent")
	if got := stateStr(nc, "push_message_id"); got != "m2" {
		t.Errorf("push_message_id after re-send = %q", got)
	}
}

// TestPushSenderTypeAndContext: push_type goes to the push service as
// set (an app requires a biometric check only if "biometric" reaches it),
// and the login context only with share_context.
func TestPushSenderTypeAndContext(t *testing.T) {
	cases := []struct {
		src         string
		wantType    string
		wantContext bool
	}{
		{``, "tap", false},
		{`push_type = "biometric"`, "biometric", false},
		{"push_type = \"biometric\"\nshare_context = true", "biometric", true},
		{"push_type = \"challenge\"\nshare_context = false", "challenge", false},
		{`share_context = true`, "tap", true},
	}
	for _, c := range cases {
		e, f := pushEnv(t)
		f.devices["alice"] = 1
		e.req = &engine.Request{Protocol: "radius", ClientIP: "192.0.2.7"}
		wantOutcome(t, process(t, build(t, "push_sender", c.src), e.ctx("push", nil)), "sent")
		p := f.sent[0]
		if p.Type != c.wantType {
			t.Errorf("%q: type %q, want %q", c.src, p.Type, c.wantType)
		}
		if got := p.Context != nil; got != c.wantContext || (got && p.Context["ip"] != "192.0.2.7") {
			t.Errorf("%q: context %v, want it %v", c.src, p.Context, c.wantContext)
		}
	}
}

func TestPushSenderTimeoutCappedBySession(t *testing.T) {
	e, f := pushEnv(t)
	f.devices["alice"] = 1
	for _, src := range []string{`message_timeout = "0"`, `message_timeout = "1h"`} {
		f.sent = nil
		delete(e.session.State, "push_message_id")
		wantOutcome(t, process(t, build(t, "push_sender", src), e.ctx("push", nil)), "sent")
		if got := f.sent[0].Expires; !got.Equal(e.session.Expires) {
			t.Errorf("%s: expires %v, want the session's %v", src, got, e.session.Expires)
		}
	}
}

func TestPushSenderNotRegisteredAndSkipped(t *testing.T) {
	e, _ := pushEnv(t)
	repo := users.NewRepo(memstore.New())
	for _, u := range []*users.User{
		{Realm: "corp", Name: "alice", Created: testNow, Updated: testNow},
		{Realm: "corp", Name: "bob", Attributes: map[string]string{nodes.OptOutAttribute: "true"}, Created: testNow, Updated: testNow},
	} {
		if err := repo.Create(u); err != nil {
			t.Fatal(err)
		}
	}
	e.svc.Users = repo
	nc := e.ctx("push", nil)
	wantOutcome(t, process(t, build(t, "push_sender", ``), nc), "not_registered")
	if stateStr(nc, "mfa_method") != "push" {
		t.Error("not_registered did not set mfa_method")
	}
	e.session.User = "bob"
	wantOutcome(t, process(t, build(t, "push_sender", ``), e.ctx("push", nil)), "skipped")
	wantOutcome(t, process(t, build(t, "push_sender", `remove_skip = true`), e.ctx("push", nil)), "not_registered")
}

func TestPushSenderFailures(t *testing.T) {
	e, f := pushEnv(t)
	f.devices["alice"] = 1
	capture := build(t, "push_sender", `capture_failure = true`)
	plain := build(t, "push_sender", ``)

	f.sendErr = &engine.PushError{Reason: engine.PushReasonTransmissionFailure, Err: errors.New("apns: 503")}
	nc := e.ctx("push", nil)
	wantOutcome(t, process(t, capture, nc), "failure")
	if got := stateStr(nc, "push_failure_reason"); got != "TRANSMISSION_FAILURE" {
		t.Errorf("reason %q", got)
	}
	if _, err := plain.Process(t.Context(), e.ctx("push", nil)); err == nil {
		t.Error("a send failure without capture_failure is not a fault")
	}
	f.sendErr = &engine.PushError{Reason: engine.PushReasonTooManyPending}
	nc = e.ctx("push", nil)
	wantOutcome(t, process(t, capture, nc), "failure")
	if got := stateStr(nc, "push_failure_reason"); got != "TRANSMISSION_FAILURE" {
		t.Errorf("too many pending: reason %q", got)
	}
	f.sendErr = &engine.PushError{Reason: engine.PushReasonNotRegistered}
	wantOutcome(t, process(t, capture, e.ctx("push", nil)), "not_registered")
	f.sendErr = nil

	f.storeErr = errors.New("disk on fire")
	nc = e.ctx("push", nil)
	wantOutcome(t, process(t, capture, nc), "failure")
	if got := stateStr(nc, "push_failure_reason"); got != "STORE_ERROR" {
		t.Errorf("store error: reason %q", got)
	}
	f.storeErr = nil

	e.session.User = ""
	nc = e.ctx("push", nil)
	wantOutcome(t, process(t, capture, nc), "failure")
	if got := stateStr(nc, "push_failure_reason"); got != "MISSING_USERNAME" {
		t.Errorf("no user: reason %q", got)
	}
	e.session.User = "alice"

	// custom_payload over 3 KB is a clear failure.
	big := build(t, "push_sender", "capture_failure = true\ncustom_payload = [\"greeting\"]\n")
	nc = e.ctx("push", nil)
	nc.SetState("greeting", cty.StringVal(strings.Repeat("x", 4000)))
	res := process(t, big, nc)
	wantOutcome(t, res, "failure")
	if _, err := build(t, "push_sender", "custom_payload = [\"greeting\"]\n").Process(t.Context(), nc); err == nil || !strings.Contains(err.Error(), "3 KB") {
		t.Errorf("oversized custom_payload: %v", err)
	}

	// No push service at all is a fault, not an outcome.
	e.svc.Push = nil
	if _, err := capture.Process(t.Context(), e.ctx("push", nil)); err == nil {
		t.Error("missing push service is not a fault")
	}
}
