package radius

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/users"
)

// The helpers below build the variables of runtime expressions the way
// engine.Context does for nodes. A policy's expressions run outside any
// node (before the journey starts, after it finished), where no Context
// exists; engine could export an equivalent (see README, "Needs").

func userValue(name string, u *users.User) cty.Value {
	email, phone := "", ""
	groups := cty.ListValEmpty(cty.String)
	attrs := cty.MapValEmpty(cty.String)
	if u != nil {
		email, phone = u.Email, u.Phone
		if len(u.Groups) > 0 {
			gs := make([]cty.Value, len(u.Groups))
			for i, g := range u.Groups {
				gs[i] = cty.StringVal(g)
			}
			groups = cty.ListVal(gs)
		}
		if len(u.Attributes) > 0 {
			m := make(map[string]cty.Value, len(u.Attributes))
			for k, v := range u.Attributes {
				m[k] = cty.StringVal(v)
			}
			attrs = cty.MapVal(m)
		}
	}
	return cty.ObjectVal(map[string]cty.Value{
		"name":       cty.StringVal(name),
		"email":      cty.StringVal(email),
		"phone":      cty.StringVal(phone),
		"groups":     groups,
		"attributes": attrs,
	})
}

func requestValue(r *engine.Request) cty.Value {
	rad := engine.RADIUSInfo{}
	if r.RADIUS != nil {
		rad = *r.RADIUS
	}
	return cty.ObjectVal(map[string]cty.Value{
		"protocol":   cty.StringVal(r.Protocol),
		"client_ip":  cty.StringVal(r.ClientIP),
		"user_agent": cty.StringVal(r.UserAgent),
		"locale":     cty.StringVal(r.Locale),
		"radius": cty.ObjectVal(map[string]cty.Value{
			"nas_identifier":     cty.StringVal(rad.NASIdentifier),
			"nas_ip":             cty.StringVal(rad.NASIP),
			"calling_station_id": cty.StringVal(rad.CallingStationID),
		}),
		"oauth": cty.ObjectVal(map[string]cty.Value{
			"client_id": cty.StringVal(""),
			"scopes":    cty.ListValEmpty(cty.String),
		}),
	})
}

// stateValue is the journey's shared state; keys some node of the journey
// may write read as null until written, as for nodes.
func stateValue(s *engine.Session, keys []string) cty.Value {
	m := map[string]cty.Value{}
	for _, k := range keys {
		m[k] = cty.NullVal(cty.DynamicPseudoType)
	}
	if s != nil {
		for k, v := range s.State {
			m[k] = v
		}
	}
	return cty.ObjectVal(m)
}

func evalError(expr hcl.Expression, diags hcl.Diagnostics) error {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			msg := d.Summary
			if d.Detail != "" {
				msg += ": " + d.Detail
			}
			return fmt.Errorf("%s: %s", expr.Range(), msg)
		}
	}
	return fmt.Errorf("%s: evaluation failed", expr.Range())
}

// policyMatches evaluates a policy's `when` before any journey runs: the
// user is only the User-Name the NAS sent, and the state is empty.
func policyMatches(p *Policy, req *engine.Request, userName string, now time.Time) (bool, error) {
	if p.When == nil {
		return true, nil
	}
	ctx := engine.RuntimeEvalContext(userValue(userName, nil), requestValue(req), cty.EmptyObjectVal, now.UTC().Format(time.RFC3339))
	v, diags := p.When.Value(ctx)
	if diags.HasErrors() {
		return false, evalError(p.When, diags)
	}
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.Bool {
		return false, fmt.Errorf("%s: when must be true or false, not %s", p.When.Range(), v.Type().FriendlyName())
	}
	return v.True(), nil
}
