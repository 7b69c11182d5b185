package nodes_test

import (
	"testing"

	"github.com/authd/authd/nodes"
)

func TestFederatedLoginSettings(t *testing.T) {
	cfg := mustDecode(t, "federated_login", `provider = identity_provider.google`)
	if c := cfg.(*nodes.FederatedLoginConfig); c.MatchOn != "email" || c.CreateUser {
		t.Errorf("defaults %+v", c)
	}
	if name, diags := nodes.FederatedLoginProvider(cfg); diags.HasErrors() || name != "google" {
		t.Fatalf("provider %q %s", name, diags)
	}
	if got := cfg.(interface{ ReferenceSettings() map[string]string }).ReferenceSettings(); got["provider"] != "identity_provider" {
		t.Fatalf("ReferenceSettings %v", got)
	}
	wantOutcomes(t, "federated_login", `provider = identity_provider.google`, "success,failure,no_account")
	build(t, "federated_login", "provider = identity_provider.google\nmatch_on = \"sub\"\ncreate_user = true\n")
	buildErr(t, "federated_login", `provider = journey.google`, "provider")
	buildErr(t, "federated_login", ``, "provider")
	buildErr(t, "federated_login", "provider = identity_provider.google\nmatch_on = \"name\"\n", "match_on")
	wantNotAvailable(t, "federated_login", `provider = identity_provider.google`)
}
