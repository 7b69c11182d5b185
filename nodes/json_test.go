package nodes_test

import (
	"slices"
	"testing"

	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"

	"github.com/authd/authd/nodes"
)

// decodeJSON decodes a node body written in HCL's JSON syntax (*.hcl.json).
func decodeJSON(t *testing.T, typ, src string) any {
	t.Helper()
	f, diags := json.Parse([]byte(src), "test.hcl.json")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	cfg := nodeType(t, typ).Config()
	if diags := gohcl.DecodeBody(f.Body, nil, cfg); diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg
}

// TestJSONSyntax checks the settings that are expressions or references
// read the same from JSON configuration.
func TestJSONSyntax(t *testing.T) {
	if name, diags := nodes.InnerJourneyTarget(decodeJSON(t, "inner_journey", `{"journey": "journey.mfa"}`)); diags.HasErrors() || name != "mfa" {
		t.Errorf("inner_journey: %q %s", name, diags)
	}
	cfg := decodeJSON(t, "set_state", `{"values": {"greeting": "hi ${user.name}", "n": 2}}`)
	if got := nodeType(t, "set_state").StateKeys(cfg); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"greeting", "n"}) {
		t.Fatalf("StateKeys %v", got)
	}
	n, err := nodeType(t, "set_state").New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv()
	e.session.User = "alice"
	wantOutcome(t, process(t, n, e.ctx("s", nil)), "next")
	if !e.session.State["greeting"].RawEquals(cty.StringVal("hi alice")) {
		t.Errorf("state %#v", e.session.State)
	}
	n, err = nodeType(t, "condition").New(decodeJSON(t, "condition", `{"when": "${user.name == \"alice\"}"}`))
	if err != nil {
		t.Fatal(err)
	}
	wantOutcome(t, process(t, n, e.ctx("c", nil)), "true")
}
