package radius

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/authd/authd/engine"
)

// Policy expressions run outside any node (before the journey starts,
// after it finished), where no engine.Context exists; engine.UserValue,
// RequestValue and StateValue build the same variables nodes see.

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
		vars["user"] = engine.UserValue(userName, nil, nil)
	}
	if r.request {
		vars["request"] = engine.RequestValue(req)
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
