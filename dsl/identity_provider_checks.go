package dsl

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// federationNeeds is what a node that logs in at an identity_provider
// (federated_login) says it needs of it; dsl knows no node type by name.
type federationNeeds interface {
	FederationNeeds() (provider string, scopes []string)
}

// checkIdentityProviderScopes warns when a node maps users by a claim its
// identity_provider does not ask for (match_on = "email" without the
// "email" scope): the configuration is valid, but every login would end
// without the claim.
func (l *loader) checkIdentityProviderScopes() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, j := range l.journeys {
		for _, n := range j.Nodes {
			fn, ok := n.Settings.(federationNeeds)
			if !ok {
				continue
			}
			name, scopes := fn.FederationNeeds()
			idp := l.cfg.IdentityProviders[name]
			if idp == nil {
				continue
			}
			var missing []string
			for _, s := range scopes {
				if !hasString(idp.Scopes, s) {
					missing = append(missing, fmt.Sprintf("%q", s))
				}
			}
			if len(missing) == 0 {
				continue
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Identity provider scope missing",
				Detail: fmt.Sprintf("Node %q of journey %q matches users by email, but identity_provider %q does not ask for the %s scope, so the provider may send no email and every login would fail. Add it to the provider's scopes.",
					n.Name, j.Name, name, strings.Join(missing, ", ")),
				Subject: n.DeclRange.Ptr(),
			})
		}
	}
	return diags
}
