package nodes_test

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/nodes"
)

func ctyString(s string) cty.Value { return cty.StringVal(s) }

func TestPushRegistrationSettings(t *testing.T) {
	if cfg := mustDecode(t, "push_registration", ``).(*nodes.PushRegistrationConfig); cfg.Timeout != "120s" {
		t.Errorf("defaults %+v", cfg)
	}
	wantOutcomes(t, "push_registration", ``, "success,failure,timeout")
	build(t, "push_registration", "issuer = \"Corp\"\ntimeout = \"5m\"\n")
	buildErr(t, "push_registration", `timeout = "0"`, "timeout")
	buildErr(t, "push_registration", `timeout = "2h"`, "timeout")
}

func TestPushRegistration(t *testing.T) {
	e, f := pushEnv(t)
	n := build(t, "push_registration", `message = { en = "Scan this, {{user}}" }`)
	cbs := wantAsk(t, process(t, n, e.ctx("reg", nil)), engine.CallbackText, engine.CallbackQR, engine.CallbackWait)
	if cbs[0].Message != "Scan this, alice" || !strings.HasPrefix(cbs[1].URI, "authd://enroll?id=e1") || !strings.Contains(cbs[1].URI, "Example Corp") {
		t.Errorf("callbacks %+v", cbs)
	}
	// Polling while the phone has not enrolled shows the same URI.
	again := wantAsk(t, process(t, n, e.ctx("reg", answer(cbs, nil))), engine.CallbackText, engine.CallbackQR, engine.CallbackWait)
	if again[1].URI != cbs[1].URI {
		t.Errorf("URI changed between polls: %q", again[1].URI)
	}
	for _, c := range []struct {
		state string
		want  engine.Outcome
	}{{engine.EnrollmentDone, "success"}, {engine.EnrollmentExpired, "timeout"}, {engine.EnrollmentRefused, "failure"}} {
		cbs := wantAsk(t, process(t, n, e.ctx("reg", nil)), engine.CallbackText, engine.CallbackQR, engine.CallbackWait)
		id := strings.TrimPrefix(strings.SplitN(cbs[1].URI, "&", 2)[0], "authd://enroll?id=")
		f.enrolls[id].State = c.state
		wantOutcome(t, process(t, n, e.ctx("reg", answer(cbs, nil))), c.want)
		if e.session.Data["reg"] != "" {
			t.Errorf("%s: node data left behind", c.state)
		}
	}
	// The user may leave.
	cbs = wantAsk(t, process(t, n, e.ctx("reg", nil)), engine.CallbackText, engine.CallbackQR, engine.CallbackWait)
	wantOutcome(t, process(t, n, e.ctx("reg", answer(cbs, map[string]string{"wait": "exit"}))), "failure")

	// single_device with a device already: failure without a code.
	e.realm.EnrollmentMode = "single_device"
	f.devices["alice"] = 1
	wantOutcome(t, process(t, n, e.ctx("reg", nil)), "failure")
	e.realm.EnrollmentMode = "multiple_devices"
	wantAsk(t, process(t, n, e.ctx("reg", nil)), engine.CallbackText, engine.CallbackQR, engine.CallbackWait)
}
