package dsl

import (
	"fmt"
	"net"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

var radiusClientSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "address", Required: true},
		{Name: "secret", Required: true},
		{Name: "require_message_authenticator"},
		{Name: "limit_proxy_state"},
		{Name: "timeout"},
	},
}

var radiusPolicySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "clients"},
		{Name: "realm", Required: true},
		{Name: "journey", Required: true},
		{Name: "when"},
		{Name: "reply_attributes"},
		{Name: "appended_factor"},
	},
}

// decodeRADIUSClientBlock decodes a radius_client. address takes an IP or
// a CIDR; secret should come from env() or file().
func decodeRADIUSClientBlock(l *loader, block *hcl.Block) (*RADIUSClient, hcl.Diagnostics) {
	c := &RADIUSClient{
		Name:                        block.Labels[0],
		RequireMessageAuthenticator: true,
		LimitProxyState:             true,
		Timeout:                     DefaultRADIUSClientTimeout,
		DeclRange:                   block.DefRange,
	}
	owner := fmt.Sprintf("radius_client %q", c.Name)
	content, diags := decodeContent(block.Body, radiusClientSchema, owner)
	if content == nil {
		return c, diags
	}
	if a := content.Attributes["address"]; a != nil {
		v, ok, d := l.str(a)
		diags = append(diags, d...)
		if ok {
			n, err := parseAddress(v)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid client address",
					Detail:   fmt.Sprintf("The address of %s must be an IP address or a CIDR network, like \"192.0.2.10\" or \"192.0.2.0/24\": %s.", owner, err),
					Subject:  a.Expr.Range().Ptr(),
				})
			} else {
				c.Address = n
				if l.isFirst(block) {
					l.clientAddrs[c.Name] = a.Expr.Range()
				}
			}
		}
	}
	if a := content.Attributes["secret"]; a != nil {
		v, ok, d := l.secret(a, owner)
		diags = append(diags, d...)
		if ok {
			c.Secret = v
		}
	}
	if a := content.Attributes["require_message_authenticator"]; a != nil {
		v, ok, d := l.boolean(a)
		diags = append(diags, d...)
		if ok {
			c.RequireMessageAuthenticator = v
			if !v {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagWarning,
					Summary:  "Message-Authenticator not required",
					Detail:   fmt.Sprintf("%s accepts requests without a Message-Authenticator, which leaves it open to BlastRADIUS (CVE-2024-3596). Turn it off only for a client that cannot send one.", owner),
					Subject:  a.Expr.Range().Ptr(),
				})
			}
		}
	}
	if a := content.Attributes["limit_proxy_state"]; a != nil {
		v, ok, d := l.boolean(a)
		diags = append(diags, d...)
		if ok {
			c.LimitProxyState = v
		}
	}
	if a := content.Attributes["timeout"]; a != nil {
		v, ok, d := l.duration(a, false)
		diags = append(diags, d...)
		if ok {
			c.Timeout = v
			if l.isFirst(block) {
				l.clientTO[c.Name] = a.Expr.Range()
			}
		}
	}
	return c, diags
}

// parseAddress reads an IP (as a single-host network) or a CIDR, with
// IPv4-mapped IPv6 folded to IPv4 so the same host compares equal.
func parseAddress(s string) (*net.IPNet, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		ip, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR network", s)
		}
		if !ip.Equal(n.IP) {
			return nil, fmt.Errorf("%q has host bits set; the network is %s", s, n)
		}
		if v4 := n.IP.To4(); v4 != nil {
			ones, bits := n.Mask.Size()
			if bits == 128 {
				ones -= 96
			}
			if ones < 0 {
				return nil, fmt.Errorf("%q mixes IPv4 and IPv6", s)
			}
			n = &net.IPNet{IP: v4, Mask: net.CIDRMask(ones, 32)}
		}
		return n, nil
	}
	ip := net.ParseIP(s)
	if ip == nil {
		return nil, fmt.Errorf("%q is not an IP address (host names are not accepted: RADIUS matches clients by source address)", s)
	}
	if v4 := ip.To4(); v4 != nil {
		return &net.IPNet{IP: v4, Mask: net.CIDRMask(32, 32)}, nil
	}
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(128, 128)}, nil
}

// checkRADIUSClients reports clients with identical networks: the front
// end picks the most specific network for a source address, so nested
// networks are fine, but two equal ones would make the choice arbitrary.
func (l *loader) checkRADIUSClients() hcl.Diagnostics {
	var diags hcl.Diagnostics
	seen := map[string]string{}
	for _, name := range sortedKeys(l.cfg.RADIUSClients) {
		c := l.cfg.RADIUSClients[name]
		if c.Address == nil {
			continue
		}
		key := c.Address.String()
		if prev, dup := seen[key]; dup {
			// Report on the later declaration in source order.
			first, second := prev, name
			if rangeBefore(l.cfg.RADIUSClients[name].DeclRange, l.cfg.RADIUSClients[prev].DeclRange) {
				first, second = name, prev
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Overlapping RADIUS clients",
				Detail: fmt.Sprintf("radius_client %q and radius_client %q both have the address %s, so a request from it could belong to either. Nested networks are fine (the most specific wins), identical ones are not; merge the two clients or narrow one address.",
					first, second, key),
				Subject: l.clientAddrs[second].Ptr(),
			})
			continue
		}
		seen[key] = name
	}
	return diags
}

func rangeBefore(a, b hcl.Range) bool {
	if a.Filename != b.Filename {
		return a.Filename < b.Filename
	}
	return a.Start.Byte < b.Start.Byte
}

type policyLinks struct {
	clients []ref
	realm   ref
	journey ref
	when    *hcl.Attribute
	reply   *hcl.Attribute
}

// decodeRADIUSPolicyBlock decodes a radius_policy. Its runtime
// expressions are checked once the journey's state keys are known.
func decodeRADIUSPolicyBlock(l *loader, block *hcl.Block) (*RADIUSPolicy, hcl.Diagnostics) {
	p := &RADIUSPolicy{Name: block.Labels[0], DeclRange: block.DefRange}
	links := &policyLinks{}
	content, diags := decodeContent(block.Body, radiusPolicySchema, blockTitle(block))
	if content == nil {
		return p, diags
	}
	if a := content.Attributes["clients"]; a != nil {
		refs, d := parseRefList(a.Expr, kindRADIUSClient, "clients")
		diags = append(diags, d...)
		links.clients = refs
		for _, r := range refs {
			p.Clients = append(p.Clients, r.name)
		}
	}
	if a := content.Attributes["realm"]; a != nil {
		r, d := parseRef(a.Expr, kindRealm, "realm", false)
		diags = append(diags, d...)
		links.realm, p.Realm = r, r.name
	}
	if a := content.Attributes["journey"]; a != nil {
		r, d := parseRef(a.Expr, kindJourney, "journey", false)
		diags = append(diags, d...)
		links.journey, p.Journey = r, r.name
	}
	if a := content.Attributes["when"]; a != nil {
		p.When = a.Expr
		links.when = a
	}
	if a := content.Attributes["reply_attributes"]; a != nil {
		p.ReplyAttributes = a.Expr
		links.reply = a
	}
	if a := content.Attributes["appended_factor"]; a != nil {
		v, ok, d := l.boolean(a)
		diags = append(diags, d...)
		if ok {
			p.AppendedFactor = v
		}
	}
	if l.isFirst(block) {
		l.policyRefs[p] = links
	}
	return p, diags
}

// linkPolicies resolves each policy's references and checks its runtime
// expressions: when over request and user, reply_attributes as an object
// over user, request, now and the journey's state.
func (l *loader) linkPolicies() hcl.Diagnostics {
	var diags hcl.Diagnostics
	if len(l.cfg.RADIUSPolicies) > 0 && l.cfg.Server.RADIUS == nil {
		p := l.cfg.RADIUSPolicies[0]
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "RADIUS policy without a RADIUS listener",
			Detail:   fmt.Sprintf("radius_policy %q has nothing to serve: the server block has no radius { listen = ... } block, so authd does not listen for RADIUS.", p.Name),
			Subject:  p.DeclRange.Ptr(),
		})
	}
	for _, p := range l.cfg.RADIUSPolicies {
		links := l.policyRefs[p]
		if links == nil {
			continue
		}
		for _, r := range links.clients {
			diags = append(diags, l.resolve(r)...)
		}
		diags = append(diags, l.resolve(links.realm)...)
		jd := l.resolve(links.journey)
		diags = append(diags, jd...)
		j := l.cfg.Journeys[p.Journey]
		if len(jd) == 0 && j != nil && p.Realm != "" && j.Realm != "" && j.Realm != p.Realm {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Journey of another realm",
				Detail:   fmt.Sprintf("radius_policy %q serves realm %q, but journey %q belongs to realm %q.", p.Name, p.Realm, p.Journey, j.Realm),
				Subject:  links.journey.rng.Ptr(),
			})
		}
		owner := fmt.Sprintf("the when expression of radius_policy %q", p.Name)
		if links.when != nil {
			sc := &scope{
				what:  owner,
				roots: whenRoots,
				why:   "a policy is chosen before its journey runs, so only request and user exist.",
			}
			ty, d := l.checkRuntimeExpr(links.when.Expr, sc)
			diags = append(diags, d...)
			if !d.HasErrors() && !ty.Equals(cty.Bool) && !ty.Equals(cty.DynamicPseudoType) {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "when is not a condition",
					Detail:   fmt.Sprintf("The when expression of radius_policy %q must be true or false, but it is a %s.", p.Name, ty.FriendlyName()),
					Subject:  links.when.Expr.Range().Ptr(),
				})
			}
		}
		if links.reply != nil {
			diags = append(diags, l.checkReplyAttributes(p, links.reply, j)...)
		}
	}
	return diags
}

// checkReplyAttributes parses reply_attributes as an object with static
// attribute names and checks each value's references. Whether a name is
// in the RADIUS dictionary, and whether it can carry the value, is the
// RADIUS front end's check, registered with RegisterReplyAttributeChecker.
func (l *loader) checkReplyAttributes(p *RADIUSPolicy, a *hcl.Attribute, j *Journey) hcl.Diagnostics {
	var diags hcl.Diagnostics
	pairs, d := hcl.ExprMap(a.Expr)
	if d.HasErrors() {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid reply_attributes",
			Detail:   "reply_attributes must be an object of RADIUS attribute names to values, like { \"Fortinet-Group-Name\" = user.groups }.",
			Subject:  a.Expr.Range().Ptr(),
		}}
	}
	sc := &scope{
		what:  fmt.Sprintf("reply_attributes of radius_policy %q", p.Name),
		roots: replyRoots,
		why:   "reply attributes are evaluated on Access-Accept.",
	}
	if j != nil && j.Compiled != nil {
		sc.journey = j.Name
		sc.stateList = j.Compiled.StateKeys
		sc.stateKeys = make(map[string]bool, len(sc.stateList))
		for _, k := range sc.stateList {
			sc.stateKeys[k] = true
		}
	} else {
		// Without a journey there is no state to check against.
		sc.roots = claimRoots
		sc.why = "the policy's journey is unknown."
	}
	seen := map[string]hcl.Range{}
	for _, pair := range pairs {
		name, ok := staticString(pair.Key)
		if !ok {
			name = hcl.ExprAsKeyword(pair.Key)
		}
		if name == "" {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid attribute name",
				Detail:   "Each key of reply_attributes must be a RADIUS attribute name written as a string, like \"Session-Timeout\".",
				Subject:  pair.Key.Range().Ptr(),
			})
			continue
		}
		// Attribute names are case-insensitive, so are duplicates.
		if prev, dup := seen[strings.ToLower(name)]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate reply attribute",
				Detail:   fmt.Sprintf("%q is set twice (first at line %d); for several values give a list.", name, prev.Start.Line),
				Subject:  pair.Key.Range().Ptr(),
			})
			continue
		}
		seen[strings.ToLower(name)] = pair.Key.Range()
		_, d := l.checkRuntimeExpr(pair.Value, sc)
		diags = append(diags, d...)
		if !d.HasErrors() {
			// The value as far as it is known: constants wholly, runtime
			// references as typed unknowns.
			v, vd := pair.Value.Value(sc.evalContext())
			if vd.HasErrors() {
				v = cty.NilVal
			}
			diags = append(diags, checkReplyAttribute(p.Name, name, pair, v)...)
		}
	}
	return diags
}
