package nodes

import (
	"context"

	"github.com/hashicorp/hcl/v2"

	"github.com/authd/authd/engine"
)

// FederatedLoginConfig are the settings of a federated_login node.
type FederatedLoginConfig struct {
	// Provider names the upstream provider, as identity_provider.NAME.
	Provider hcl.Expression `hcl:"provider"`
	// MatchOn is the claim that finds the local user: email (default) or sub.
	MatchOn string `hcl:"match_on,optional"`
	// CreateUser creates a local user when none matches, instead of
	// leaving by no_account.
	CreateUser bool `hcl:"create_user,optional"`
}

// ReferenceSettings tells dsl that `provider` names an identity_provider
// block rather than being a runtime expression.
func (*FederatedLoginConfig) ReferenceSettings() map[string]string {
	return map[string]string{"provider": "identity_provider"}
}

func init() {
	engine.Register(&engine.NodeType{
		Name:        "federated_login",
		Summary:     "logs in at an upstream identity provider (authorization code + PKCE) and maps the user",
		Config:      func() any { return &FederatedLoginConfig{MatchOn: "email"} },
		Outcomes:    engine.FixedOutcomes("success", "failure", "no_account"),
		New:         newFederatedLogin,
		Interactive: true,
		NotOver:     []string{engine.FrontendRADIUS},
		Provides:    providesOn("success", engine.FactUser),
		StateKeys:   noStateKeys,
	})
}

// FederatedLoginProvider returns the identity_provider a federated_login
// node logs in at, with a diagnostic at the setting when it is not
// identity_provider.NAME; dsl uses it to resolve the reference.
func FederatedLoginProvider(cfg any) (string, hcl.Diagnostics) {
	c, err := settings[FederatedLoginConfig](cfg)
	if err != nil {
		return "", hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid federated_login settings", Detail: err.Error()}}
	}
	return Reference(c.Provider, "identity_provider", "provider")
}

func newFederatedLogin(cfg any) (engine.Node, error) {
	c, err := settings[FederatedLoginConfig](cfg)
	if err != nil {
		return nil, err
	}
	var p problems
	provider, diags := FederatedLoginProvider(c)
	if diags.HasErrors() {
		p.add("provider", "%s", diagMessage(diags))
	}
	checkOneOf(&p, "match_on", c.MatchOn, "email", "sub")
	if err := p.err(); err != nil {
		return nil, err
	}
	return &federatedLogin{provider: provider, matchOn: c.MatchOn, createUser: c.CreateUser}, nil
}

// federatedLogin sends the browser to the upstream provider, and on its
// return finds the local user by the matched claim: success (the user is
// established), no_account when none matches and create_user is off,
// failure when the provider refused or the answer did not verify. It needs
// a browser, so not over RADIUS. The runtime comes with the federation
// issue.
type federatedLogin struct {
	provider   string
	matchOn    string
	createUser bool
}

// Process implements engine.Node.
func (n *federatedLogin) Process(context.Context, *engine.Context) (engine.Result, error) {
	return engine.Result{}, errNotAvailable("federated_login")
}

var _ engine.Node = (*federatedLogin)(nil)
