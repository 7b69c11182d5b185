package diff

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
)

// mfaEdges are the edges that prove a second factor: a node of one of
// these types left by this outcome. Leaving otp_verify by not_enrolled
// proves nothing, so it is the edge, not the node, that counts.
var mfaEdges = map[string]engine.Outcome{
	"otp_verify":              "success",
	"push_result_verifier":    "success",
	"sms_otp_verify":          "success",
	"recovery_code_collector": "true",
}

// MFANodeTypes lists the node types whose success proves a second factor,
// for documentation and tests.
func MFANodeTypes() []string { return sortedKeys(mfaEdges) }

// mfa answers, for the journeys of one configuration, whether every path
// from start to success crosses an MFA edge. An inner_journey's success
// counts when every path to success of the journey it enters does.
type mfa struct {
	cfg  *dsl.Config
	memo map[string]bool
	busy map[string]bool
}

func newMFA(c *dsl.Config) *mfa {
	return &mfa{cfg: c, memo: map[string]bool{}, busy: map[string]bool{}}
}

// guarded reports whether MFA guards every path to success of journey.
func (m *mfa) guarded(journey string) bool {
	return m.bypass(journey) == nil
}

// bypass returns a path from start to success that crosses no MFA edge
// ("login", "--next--> check", "--success--> success"), or nil when there
// is none.
func (m *mfa) bypass(journey string) []string {
	j := m.cfg.Journeys[journey]
	if j == nil || m.busy[journey] {
		return nil
	}
	m.busy[journey] = true
	defer delete(m.busy, journey)
	nodes := nodeMap(j)
	type step struct{ prev, via string }
	parent := map[string]step{j.Start: {}}
	queue := []string{j.Start}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		n := nodes[cur]
		if n == nil {
			continue
		}
		for _, o := range outcomes(n) {
			if m.proves(n, o) {
				continue
			}
			t := n.Edges[o]
			if t == string(engine.Failure) {
				continue
			}
			if _, seen := parent[t]; seen {
				continue
			}
			parent[t] = step{prev: cur, via: string(o)}
			if t == string(engine.Success) {
				var path []string
				for at := t; at != j.Start; at = parent[at].prev {
					path = append([]string{fmt.Sprintf("--%s--> %s", parent[at].via, at)}, path...)
				}
				return append([]string{j.Start}, path...)
			}
			queue = append(queue, t)
		}
	}
	return nil
}

func (m *mfa) proves(n *dsl.Node, o engine.Outcome) bool {
	if want, ok := mfaEdges[n.Type]; ok {
		return o == want
	}
	if n.Type == "inner_journey" && o == engine.Success {
		if target := innerTarget(n); target != "" {
			if v, ok := m.memo[target]; ok {
				return v
			}
			v := m.cfg.Journeys[target] != nil && m.guarded(target)
			m.memo[target] = v
			return v
		}
	}
	return false
}

// innerTarget is the journey an inner_journey node enters, read from the
// setting its settings struct declares as a journey reference.
func innerTarget(n *dsl.Node) string {
	rs, ok := n.Settings.(interface{ ReferenceSettings() map[string]string })
	if !ok {
		return ""
	}
	v := reflect.ValueOf(n.Settings)
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return ""
	}
	for setting, kind := range rs.ReferenceSettings() {
		if kind != "journey" {
			continue
		}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if fieldKey(f) != setting {
				continue
			}
			if e, ok := v.Field(i).Interface().(hcl.Expression); ok && e != nil {
				return refName(e)
			}
		}
	}
	return ""
}

// refName reads NAME out of journey.NAME (or its quoted spelling).
func refName(e hcl.Expression) string {
	if t, diags := hcl.AbsTraversalForExpr(e); !diags.HasErrors() && len(t) == 2 {
		if a, ok := t[1].(hcl.TraverseAttr); ok {
			return a.Name
		}
	}
	if v, diags := e.Value(nil); !diags.HasErrors() && v.Type() == cty.String && !v.IsNull() {
		_, name, _ := strings.Cut(v.AsString(), ".")
		return name
	}
	return ""
}

// warn adds a warning; URLs it quotes have their credentials masked.
func (c *comparer) warn(subject, format string, args ...any) {
	c.r.Warnings = append(c.r.Warnings, Warning{Subject: subject, Message: dsl.MaskURLCredentials(fmt.Sprintf(format, args...))})
}

// warnings finds the changes that weaken security.
func (c *comparer) warnings() {
	om, nm := newMFA(c.old), newMFA(c.new)
	for _, name := range sortedKeys(c.new.Journeys) {
		if c.old.Journeys[name] == nil || !om.guarded(name) {
			continue
		}
		if p := nm.bypass(name); p != nil {
			c.r.Warnings = append(c.r.Warnings, Warning{Subject: `journey "` + name + `"`,
				Message: "MFA removed from a path to success", Path: strings.Join(p, " ")})
		}
	}
	for _, name := range sortedKeys(c.new.RelyingParties) {
		o, n := c.old.RelyingParties[name], c.new.RelyingParties[name]
		subject := `relying_party "` + name + `"`
		if o == nil {
			continue
		}
		c.journeySwitch(subject, o.Journey, n.Journey, om, nm)
		if o.PKCE == "required" && n.PKCE != "required" && n.ClientType != "public" {
			c.warn(subject, "PKCE relaxed: %s → %s", o.PKCE, n.PKCE)
		}
		c.lifetime(subject, "access_token_ttl", o.AccessTokenTTL, n.AccessTokenTTL)
		c.lifetime(subject, "refresh_token_ttl", o.RefreshTokenTTL, n.RefreshTokenTTL)
	}
	oldPol := map[string]*dsl.RADIUSPolicy{}
	for _, p := range c.old.RADIUSPolicies {
		oldPol[p.Name] = p
	}
	for _, p := range c.new.RADIUSPolicies {
		if o := oldPol[p.Name]; o != nil {
			c.journeySwitch(`radius_policy "`+p.Name+`"`, o.Journey, p.Journey, om, nm)
		}
	}
	for _, name := range sortedKeys(c.new.RADIUSClients) {
		o, n := c.old.RADIUSClients[name], c.new.RADIUSClients[name]
		if o == nil {
			continue
		}
		subject := `radius_client "` + name + `"`
		if o.RequireMessageAuthenticator && !n.RequireMessageAuthenticator {
			c.warn(subject, "require_message_authenticator turned off: requests without Message-Authenticator are accepted again (BlastRADIUS, CVE-2024-3596)")
		}
		if o.LimitProxyState && !n.LimitProxyState {
			c.warn(subject, "limit_proxy_state turned off (BlastRADIUS, CVE-2024-3596)")
		}
		if o.Address != nil && n.Address != nil {
			ob, _ := o.Address.Mask.Size()
			nb, _ := n.Address.Mask.Size()
			if nb < ob && n.Address.Contains(o.Address.IP) {
				c.warn(subject, "address widened: %s → %s (more hosts may send requests with the shared secret)", o.Address, n.Address)
			}
		}
	}
	for _, name := range sortedKeys(c.new.Realms) {
		o, n := c.old.Realms[name], c.new.Realms[name]
		if o == nil || o.Lockout == nil || o.Lockout.MaxFailures == 0 {
			continue
		}
		subject := `realm "` + name + `"`
		switch {
		case n.Lockout == nil || n.Lockout.MaxFailures == 0:
			c.warn(subject, "account lockout removed: password guessing is no longer limited")
		case n.Lockout.MaxFailures > o.Lockout.MaxFailures:
			c.warn(subject, "lockout allows more failures: %d → %d", o.Lockout.MaxFailures, n.Lockout.MaxFailures)
		}
	}
	for _, name := range sortedKeys(c.new.IdentityProviders) {
		o, n := c.old.IdentityProviders[name], c.new.IdentityProviders[name]
		if o != nil && !o.AssumeEmailVerified && n.AssumeEmailVerified {
			c.warn(`identity_provider "`+name+`"`, "assume_email_verified turned on: an email the provider does not say is verified now matches a local account (whoever sets that address upstream signs in as its owner)")
		}
	}
	c.oauthWarnings()
	c.literalSecrets()
}

// journeySwitch warns when a front end now runs a journey that MFA does
// not guard, where it ran one that it did.
func (c *comparer) journeySwitch(subject, oldJ, newJ string, om, nm *mfa) {
	if oldJ == newJ || oldJ == "" || newJ == "" || !om.guarded(oldJ) {
		return
	}
	if p := nm.bypass(newJ); p != nil {
		c.r.Warnings = append(c.r.Warnings, Warning{Subject: subject,
			Message: fmt.Sprintf("MFA removed: journey %s → %s, which reaches success without MFA", oldJ, newJ), Path: strings.Join(p, " ")})
	}
}

// lifetime warns when a token lives longer; 0 is "never expires".
func (c *comparer) lifetime(subject, key string, o, n time.Duration) {
	longer := func(a, b time.Duration) bool { // a outlives b
		if b == 0 {
			return false
		}
		return a == 0 || a > b
	}
	if longer(n, o) {
		c.warn(subject, "%s raised: %s → %s", key, durationText(o), ttlText(n))
	}
}

func ttlText(d time.Duration) string {
	if d == 0 {
		return "0 (never expires)"
	}
	return durationText(d)
}

// literalSecrets warns for every secret written into the file that came
// from env() or file() before (or is new).
func (c *comparer) literalSecrets() {
	type block struct {
		subject string
		v       any
	}
	collect := func(cfg *dsl.Config) map[string]block {
		out := map[string]block{}
		put := func(kind string, m map[string]any) {
			for n, v := range m {
				out[kind+` "`+n+`"`] = block{kind + ` "` + n + `"`, v}
			}
		}
		put("relying_party", toAny(cfg.RelyingParties))
		put("radius_client", toAny(cfg.RADIUSClients))
		put("sms_gateway", toAny(cfg.SMSGateways))
		put("push_provider", toAny(cfg.PushProviders))
		put("identity_provider", toAny(cfg.IdentityProviders))
		out["server"] = block{"server", cfg.Server}
		return out
	}
	oldB, newB := collect(c.old), collect(c.new)
	for _, k := range sortedKeys(newB) {
		ns := flatten(newB[k].v, c.new.Files).secrets
		var os map[string]dsl.Secret
		if ob, ok := oldB[k]; ok {
			os = flatten(ob.v, c.old.Files).secrets
		}
		for _, key := range sortedKeys(ns) {
			if ns[key].Source() != "literal" {
				continue
			}
			was, had := os[key]
			switch {
			case had && was.Source() != "literal":
				c.warn(k, "secret made literal: %s came from %s(), now it is written in the file (and in Git)", key, was.Source())
			case !had:
				c.warn(k, "literal secret: %s is written in the file (and in Git); use env() or file()", key)
			}
		}
	}
}
