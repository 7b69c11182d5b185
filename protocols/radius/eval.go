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

// Values that are the same for every request, built once.
var (
	emptyString = cty.StringVal("")
	emptyGroups = cty.ListValEmpty(cty.String)
	emptyAttrs  = cty.MapValEmpty(cty.String)
	emptyOAuth  = cty.ObjectVal(map[string]cty.Value{"client_id": emptyString, "scopes": emptyGroups})
	radiusProto = cty.StringVal(engine.FrontendRADIUS)
)

func str(s string) cty.Value {
	if s == "" {
		return emptyString
	}
	return cty.StringVal(s)
}

func userValue(name string, u *users.User) cty.Value {
	email, phone := "", ""
	groups, attrs := emptyGroups, emptyAttrs
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
		"name":       str(name),
		"email":      str(email),
		"phone":      str(phone),
		"groups":     groups,
		"attributes": attrs,
	})
}

func requestValue(r *engine.Request) cty.Value {
	rad := engine.RADIUSInfo{}
	if r.RADIUS != nil {
		rad = *r.RADIUS
	}
	proto := radiusProto
	if r.Protocol != engine.FrontendRADIUS {
		proto = str(r.Protocol)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"protocol":   proto,
		"client_ip":  str(r.ClientIP),
		"user_agent": str(r.UserAgent),
		"locale":     str(r.Locale),
		"radius": cty.ObjectVal(map[string]cty.Value{
			"nas_identifier":     str(rad.NASIdentifier),
			"nas_ip":             str(rad.NASIP),
			"calling_station_id": str(rad.CallingStationID),
		}),
		"oauth": emptyOAuth,
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

// whenReads is which variables a set of `when` expressions read.
type whenReads struct{ user, request, state, now bool }

func (w *whenReads) add(expr hcl.Expression) {
	for _, tr := range expr.Variables() {
		switch tr.RootName() {
		case "user":
			w.user = true
		case "request":
			w.request = true
		case "state":
			w.state = true
		case "now":
			w.now = true
		}
	}
}

// policyEvalContext is what a policy's `when` sees before any journey
// runs: the user is only the User-Name the NAS sent, and the state is
// empty. It is built once per request, whatever the number of policies,
// and holds only the variables some `when` reads (r): building the
// request object costs more than most conditions, and a variable no
// expression reads cannot be missed.
func policyEvalContext(req *engine.Request, userName string, now time.Time, r whenReads) *hcl.EvalContext {
	vars := make(map[string]cty.Value, 4)
	if r.user {
		vars["user"] = userValue(userName, nil)
	}
	if r.request {
		vars["request"] = requestValue(req)
	}
	if r.state {
		vars["state"] = cty.EmptyObjectVal
	}
	if r.now {
		vars["now"] = cty.StringVal(now.UTC().Format(time.RFC3339))
	}
	return &hcl.EvalContext{Variables: vars, Functions: runtimeFunctions}
}

// runtimeFunctions are the functions of runtime expressions, made once.
var runtimeFunctions = engine.Functions()

// policyMatches evaluates a policy's `when`.
func policyMatches(p *Policy, ctx *hcl.EvalContext) (bool, error) {
	if p.When == nil {
		return true, nil
	}
	v, diags := p.When.Value(ctx)
	if diags.HasErrors() {
		return false, evalError(p.When, diags)
	}
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.Bool {
		return false, fmt.Errorf("%s: when must be true or false, not %s", p.When.Range(), v.Type().FriendlyName())
	}
	return v.True(), nil
}
