package nodes_test

import (
	"slices"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/authd/authd/engine"
)

func TestDeviceProfile(t *testing.T) {
	nt := nodeType(t, "device_profile")
	if got := nt.StateKeys(mustDecode(t, "device_profile", ``)); !slices.Equal(got, []string{"device_user_agent", "device_ip"}) {
		t.Fatalf("StateKeys %v", got)
	}
	if ws := nt.Warnings(mustDecode(t, "device_profile", ``)); len(ws) != 0 {
		t.Fatalf("warnings %v", ws)
	}
	n := build(t, "device_profile", ``)
	e := newEnv()
	e.req = &engine.Request{Protocol: "api", ClientIP: "192.0.2.7", UserAgent: "curl/8"}
	wantOutcome(t, process(t, n, e.ctx("d", nil)), "next")
	if !e.session.State["device_ip"].RawEquals(cty.StringVal("192.0.2.7")) || !e.session.State["device_user_agent"].RawEquals(cty.StringVal("curl/8")) {
		t.Fatalf("state %#v", e.session.State)
	}

	cfg := mustDecode(t, "device_profile", `location = true`)
	if got := nt.StateKeys(cfg); !slices.Contains(got, "device_location") {
		t.Fatalf("StateKeys with location %v", got)
	}
	if ws := nt.Warnings(cfg); len(ws) != 1 || !ws[0].Warning || ws[0].Setting != "location" {
		t.Fatalf("warnings %v", ws)
	}
}
