package nodes_test

import (
	"testing"

	"github.com/authd/authd/nodes"
)

func TestInnerJourney(t *testing.T) {
	cfg := mustDecode(t, "inner_journey", `journey = journey.mfa`)
	name, diags := nodes.InnerJourneyTarget(cfg)
	if diags.HasErrors() || name != "mfa" {
		t.Fatalf("target %q %s", name, diags)
	}
	if got := cfg.(interface{ ReferenceSettings() map[string]string }).ReferenceSettings(); got["journey"] != "journey" {
		t.Fatalf("ReferenceSettings %v", got)
	}
	n, err := nodeType(t, "inner_journey").New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res := process(t, n, newEnv().ctx("inner", nil))
	if res.Enter != "mfa" || res.Outcome != "" || len(res.Callbacks) != 0 {
		t.Fatalf("result %+v", res)
	}
	if got := outcomeNames(nodeType(t, "inner_journey").Outcomes(cfg)); got != "success,failure" {
		t.Fatalf("outcomes %s", got)
	}
}

func TestInnerJourneySettings(t *testing.T) {
	// The quoted spelling of JSON configuration (dsl warns in native syntax).
	if name, diags := nodes.InnerJourneyTarget(mustDecode(t, "inner_journey", `journey = "journey.mfa"`)); diags.HasErrors() || name != "mfa" {
		t.Errorf("quoted reference: %q %s", name, diags)
	}
	for _, src := range []string{`journey = "mfa"`, `journey = "realm.mfa"`, `journey = realm.mfa`, `journey = journey.mfa.x`, `journey = journey`, `journey = journey["mfa"]`, ``} {
		buildErr(t, "inner_journey", src, "journey")
		cfg := mustDecode(t, "inner_journey", src)
		if _, diags := nodes.InnerJourneyTarget(cfg); !diags.HasErrors() {
			t.Errorf("%s: no diagnostic", src)
		} else if src != "" && diags[0].Subject == nil {
			t.Errorf("%s: diagnostic without a range", src)
		}
	}
	if _, diags := nodes.InnerJourneyTarget(nil); !diags.HasErrors() {
		t.Error("nil settings: no diagnostic")
	}
}
