package dsl

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// advisory marks a warning about a design that may be deliberate: Strict
// leaves it a warning. A configuration cannot acknowledge a warning, so
// promoting this one would make `validate -strict` unusable for everyone
// who chose the design knowingly, and they would lose every other check.
type advisory struct{}

// checkPublicStarts warns about a journey anyone can start for any user:
// its first node is a username node (also when it first enters an inner
// journey that starts with one), and no api_client lists it. The journey
// API starts every journey no api_client lists, and a username node takes
// the name it is given without proof, so anyone can make such a journey
// send a push or a code to any user (MFA fatigue), tell from how soon it
// fails whether the user exists, and take the success of a careless
// approval. A journey an api_client lists is started only through the
// client's authenticated start call (protocols/api), where the
// application vouches for the name.
//
// A passwordless push login, or a RADIUS journey whose NAS checked the
// password (which the journey API can start as well), is such a journey
// by design, hence advisory.
func (l *loader) checkPublicStarts() hcl.Diagnostics {
	listed := map[string]bool{}
	for _, c := range l.cfg.APIClients {
		for _, j := range c.Journeys {
			listed[j] = true
		}
	}
	var diags hcl.Diagnostics
	// A journey an application vouches for cannot also be one a browser
	// or a NAS starts: /oauth2/authorize and RADIUS would run it for
	// anyone, past the journey API's refusal.
	other := func(kind, name, journey string, rng hcl.Range) {
		if !listed[journey] {
			return
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Journey started only by api_clients",
			Detail: fmt.Sprintf("The %s %q runs the journey %q, which an api_client lists: such a journey takes the user name the application gives, so only the client's authenticated start call may begin it. Give the %s a journey of its own that asks for credentials.",
				kind, name, journey, kind),
			Subject: rng.Ptr(),
		})
	}
	for _, name := range sortedKeys(l.cfg.RelyingParties) {
		rp := l.cfg.RelyingParties[name]
		other("relying_party", name, rp.Journey, rp.DeclRange)
	}
	for _, p := range l.cfg.RADIUSPolicies {
		other("radius_policy", p.Name, p.Journey, p.DeclRange)
	}
	for _, j := range l.journeys {
		if l.cfg.Journeys[j.Name] != j || listed[j.Name] || l.graphs[j] == nil {
			continue
		}
		via, n := l.usernameFirst(j, map[*Journey]bool{})
		if n == nil {
			continue
		}
		first := fmt.Sprintf("starts with the username node %q", n.Name)
		if len(via) > 0 {
			first = fmt.Sprintf("starts in the inner journey %s, whose first node is the username node %q", strings.Join(via, " > "), n.Name)
		}
		rng := j.startRange
		if rng.Filename == "" {
			rng = j.DeclRange
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Anyone can start this journey for any user",
			Detail: fmt.Sprintf("The journey %q %s, which takes the name it is given without proof, and no api_client lists it, so anyone can start it on the journey API as any user: a push or code it sends goes to whoever they name, how soon it fails tells whether that user exists, and its success proves only what its later nodes check. If an application vouches for the user, list the journey in its api_client's journeys (then only the client's start call begins it); otherwise ask for something only the user knows first (credentials, then password_check). A passwordless login may be meant this way: -strict leaves this a warning.",
				j.Name, first),
			Subject: rng.Ptr(),
			Extra:   advisory{},
		})
	}
	return diags
}

// usernameFirst follows j's start node through inner_journey nodes and
// returns the username node a session of j runs first, with the inner
// journeys entered on the way; nil when the first node is anything else.
func (l *loader) usernameFirst(j *Journey, seen map[*Journey]bool) ([]string, *Node) {
	if j == nil || seen[j] {
		return nil, nil
	}
	seen[j] = true
	n := j.byName[j.Start]
	if n == nil {
		return nil, nil
	}
	switch n.Type {
	case "username":
		return nil, n
	case "inner_journey":
		for _, c := range j.calls {
			if c.node != n {
				continue
			}
			if via, u := l.usernameFirst(l.cfg.Journeys[c.target], seen); u != nil {
				return append([]string{fmt.Sprintf("%q", c.target)}, via...), u
			}
		}
	}
	return nil, nil
}
