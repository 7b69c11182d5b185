package scenario

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/protocols/admin"
)

// Check compares a suite with the configuration it tests, before anything
// runs: realms, journeys, clients and node names must exist (with a "did
// you mean"), and each front end's scenarios must have the shape it can
// run. It fills in defaults (a user's realm when the configuration has
// one). Every diagnostic points at the attribute at fault.
func Check(cfg *dsl.Config, s *Suite) hcl.Diagnostics {
	c := &checker{cfg: cfg}
	var diags hcl.Diagnostics
	realms := sortedKeys(cfg.Realms)
	for _, u := range s.Users {
		switch {
		case u.Realm == "" && len(realms) == 1:
			u.Realm = realms[0]
		case u.Realm == "":
			diags = append(diags, errAt(u.DeclRange, "Realm required",
				fmt.Sprintf("The configuration has realms %s; say which one user %q belongs to with realm = \"...\".", strings.Join(realms, ", "), u.Name)))
		case cfg.Realms[u.Realm] == nil:
			diags = append(diags, errAt(u.realmAt, "Unknown realm", c.unknown("realm", u.Realm, realms)))
		}
	}
	for _, sc := range s.Scenarios {
		diags = append(diags, c.scenario(sc)...)
	}
	return diags
}

type checker struct{ cfg *dsl.Config }

func errAt(r hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: r.Ptr()}
}

func (c *checker) unknown(kind, name string, names []string) string {
	msg := fmt.Sprintf("There is no %s %q in the configuration", kind, name)
	if s := admin.DidYouMean(name, names); s != "" {
		return msg + fmt.Sprintf("; did you mean %q?", s)
	}
	if len(names) > 0 {
		return msg + "; there are " + strings.Join(names, ", ") + "."
	}
	return msg + "."
}

func (c *checker) scenario(sc *Scenario) hcl.Diagnostics {
	var diags hcl.Diagnostics
	at := sc.rangeOf
	journeys := sortedKeys(c.cfg.Journeys)
	top := ""
	switch sc.Frontend {
	case FrontendAPI:
		switch {
		case sc.Journey == "":
			diags = append(diags, errAt(sc.DeclRange, "Journey required", "An api scenario names the journey it starts: journey = \"...\"."))
		case c.cfg.Journeys[sc.Journey] == nil:
			diags = append(diags, errAt(at("journey"), "Unknown journey", c.unknown("journey", sc.Journey, journeys)))
		default:
			top = sc.Journey
			j := c.cfg.Journeys[sc.Journey]
			if sc.Realm != "" && sc.Realm != j.Realm {
				diags = append(diags, errAt(at("realm"), "Wrong realm", fmt.Sprintf("Journey %q belongs to realm %q, not %q.", sc.Journey, j.Realm, sc.Realm)))
			}
		}
		if sc.Client != "" || sc.RADIUSClient != "" {
			diags = append(diags, errAt(sc.DeclRange, "Front-end settings mismatch", "client belongs to oauth scenarios and radius_client to radius ones; set frontend accordingly."))
		}
	case FrontendRADIUS:
		top = c.checkRADIUS(sc, &diags)
	case FrontendOAuth:
		top = c.checkOAuth(sc, &diags)
	}
	for _, st := range sc.Steps {
		if st.ExpectNode != "" && top != "" && !c.nodeExists(top, st.ExpectNode) {
			diags = append(diags, errAt(st.ranges["expect_node"], "Unknown node", c.unknownNode(top, st.ExpectNode)))
		}
	}
	if ex := sc.Expect; ex != nil {
		if ex.HasPath && top != "" {
			for _, n := range ex.Path {
				if !c.nodeExists(top, n) {
					diags = append(diags, errAt(ex.ranges["path"], "Unknown node in path", c.unknownNode(top, n)))
					break
				}
			}
		}
		if ex.RADIUSAttributes != nil && sc.Frontend != FrontendRADIUS {
			diags = append(diags, errAt(ex.ranges["radius_attributes"], "Not a RADIUS scenario", "radius_attributes are checked on RADIUS scenarios only (frontend = \"radius\")."))
		}
		if ex.Claims != nil && sc.Frontend != FrontendOAuth {
			diags = append(diags, errAt(ex.ranges["claims"], "Not an OAuth scenario", "claims are checked on OAuth scenarios only (frontend = \"oauth\")."))
		}
	}
	return diags
}

func (c *checker) checkRADIUS(sc *Scenario, diags *hcl.Diagnostics) string {
	clients := sortedKeys(c.cfg.RADIUSClients)
	switch {
	case len(clients) == 0:
		*diags = append(*diags, errAt(sc.DeclRange, "No RADIUS clients", "A radius scenario sends its requests from a radius_client, and the configuration declares none."))
		return ""
	case sc.RADIUSClient == "" && len(clients) > 1:
		*diags = append(*diags, errAt(sc.DeclRange, "RADIUS client required", fmt.Sprintf("The configuration has clients %s; say which one sends the requests with radius_client = \"...\".", strings.Join(clients, ", "))))
	case sc.RADIUSClient != "" && c.cfg.RADIUSClients[sc.RADIUSClient] == nil:
		*diags = append(*diags, errAt(sc.rangeOf("radius_client"), "Unknown RADIUS client", c.unknown("radius_client", sc.RADIUSClient, clients)))
	}
	if len(sc.Steps) == 0 {
		*diags = append(*diags, errAt(sc.DeclRange, "No request", "A radius scenario sends one Access-Request per step; add a step with answer = { username = \"...\", password = \"...\" }."))
	} else if st := sc.Steps[0]; st.ExpectNode != "" || st.ExpectPrompt != "" || st.ExpectCallbacks != nil {
		*diags = append(*diags, errAt(st.DeclRange, "Nothing to expect yet", "The first RADIUS request answers no challenge: put expect_node, expect_prompt and expect_callbacks on the step that answers it."))
	}
	if sc.Expect != nil && sc.Expect.Outcome == "suspended" {
		*diags = append(*diags, errAt(sc.Expect.ranges["outcome"], "Not over RADIUS", "Over RADIUS a journey waiting for an answer is an Access-Challenge; expect it with a following step's expect_prompt, and end with success or failure."))
	}
	var names []string
	for _, p := range c.cfg.RADIUSPolicies {
		names = append(names, p.Name)
		if p.Name == sc.RADIUSPolicy {
			if sc.Journey != "" && sc.Journey != p.Journey {
				*diags = append(*diags, errAt(sc.rangeOf("journey"), "Wrong journey", fmt.Sprintf("radius_policy %q runs journey %q, not %q.", p.Name, p.Journey, sc.Journey)))
			}
			return p.Journey
		}
	}
	if sc.RADIUSPolicy != "" {
		*diags = append(*diags, errAt(sc.rangeOf("radius_policy"), "Unknown RADIUS policy", c.unknown("radius_policy", sc.RADIUSPolicy, names)))
		return ""
	}
	if sc.Journey != "" {
		if c.cfg.Journeys[sc.Journey] == nil {
			*diags = append(*diags, errAt(sc.rangeOf("journey"), "Unknown journey", c.unknown("journey", sc.Journey, sortedKeys(c.cfg.Journeys))))
			return ""
		}
		return sc.Journey
	}
	// The policy is picked per request (clients and when); names in the
	// path are checked against every journey any policy runs.
	return ""
}

func (c *checker) checkOAuth(sc *Scenario, diags *hcl.Diagnostics) string {
	rps := sortedKeys(c.cfg.RelyingParties)
	rp := c.cfg.RelyingParties[sc.Client]
	switch {
	case sc.Client == "":
		*diags = append(*diags, errAt(sc.DeclRange, "Client required", "An oauth scenario logs in at a relying party: client = \"...\" (the relying_party block's name)."))
		return ""
	case rp == nil:
		*diags = append(*diags, errAt(sc.rangeOf("client"), "Unknown relying party", c.unknown("relying_party", sc.Client, rps)))
		return ""
	case rp.Journey == "":
		*diags = append(*diags, errAt(sc.rangeOf("client"), "No journey", fmt.Sprintf("relying_party %q has no journey (client credentials only), so no user can log in at it.", sc.Client)))
		return ""
	}
	if sc.Journey != "" && sc.Journey != rp.Journey {
		*diags = append(*diags, errAt(sc.rangeOf("journey"), "Wrong journey", fmt.Sprintf("relying_party %q runs journey %q, not %q.", sc.Client, rp.Journey, sc.Journey)))
	}
	browser := slices.Contains(rp.GrantTypes, "authorization_code") && len(rp.RedirectURIs) > 0
	if !browser && !slices.Contains(rp.GrantTypes, "password") {
		*diags = append(*diags, errAt(sc.rangeOf("client"), "No user login", fmt.Sprintf("relying_party %q has neither the authorization_code grant (with a redirect URI) nor the password grant, so no user can log in at it.", sc.Client)))
		return ""
	}
	if browser {
		return rp.Journey
	}
	if len(sc.Steps) != 1 {
		*diags = append(*diags, errAt(sc.DeclRange, "One step", fmt.Sprintf("relying_party %q logs in with the password grant: exactly one step, answer = { username = \"...\", password = \"...\" }.", sc.Client)))
	}
	for _, st := range sc.Steps {
		if st.ExpectNode != "" || st.ExpectPrompt != "" || st.ExpectCallbacks != nil {
			*diags = append(*diags, errAt(st.DeclRange, "Nothing to expect", "The password grant shows no prompts; check the journey's prompts with frontend = \"api\"."))
		}
	}
	if sc.Expect != nil && sc.Expect.Outcome == "suspended" {
		*diags = append(*diags, errAt(sc.Expect.ranges["outcome"], "Not with the password grant", "A password grant either issues a token (success) or not (failure)."))
	}
	return rp.Journey
}

// nodeExists accepts a node of the scenario's journey ("check") or of any
// journey, qualified ("code.verify"), as paths name inner journeys' nodes.
func (c *checker) nodeExists(top, name string) bool {
	if c.hasNode(top, name) {
		return true
	}
	if j, n, ok := strings.Cut(name, "."); ok {
		return c.hasNode(j, n)
	}
	return false
}

func (c *checker) hasNode(journey, node string) bool {
	j := c.cfg.Journeys[journey]
	if j == nil {
		return false
	}
	for _, n := range j.Nodes {
		if n.Name == node {
			return true
		}
	}
	return false
}

func (c *checker) unknownNode(top, name string) string {
	var names []string
	for _, n := range c.cfg.Journeys[top].Nodes {
		names = append(names, n.Name)
	}
	sort.Strings(names)
	msg := fmt.Sprintf("Journey %q has no node %q (nodes of inner journeys are written JOURNEY.NODE)", top, name)
	if s := admin.DidYouMean(name, names); s != "" {
		return msg + fmt.Sprintf("; did you mean %q?", s)
	}
	return msg + "."
}
