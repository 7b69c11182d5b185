package nodes

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Some settings name another configuration block rather than compute a
// runtime value: inner_journey's `journey = journey.x` and
// federated_login's `provider = identity_provider.x`. They are decoded as
// hcl.Expression so that dsl can resolve them, with their source range,
// like every other reference. Their settings structs say which they are
// through a method dsl can detect without importing this package:
//
//	interface{ ReferenceSettings() map[string]string }
//
// mapping a setting name to the block kind it must name. dsl then treats
// those settings as references, not runtime expressions.

// Reference returns NAME from an expression of the form KIND.NAME (or the
// same quoted, as JSON configuration writes it), with a diagnostic
// pointing at expr when it is anything else. dsl and nodes both
// use it so a reference is read one way only.
func Reference(expr hcl.Expression, kind, setting string) (string, hcl.Diagnostics) {
	if expr == nil || isNullExpr(expr) {
		return "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Missing %s", setting),
			Detail:   fmt.Sprintf("The %s setting must name a %s block, as %s.NAME.", setting, kind, kind),
		}}
	}
	trav, diags := hcl.AbsTraversalForExpr(expr)
	if diags.HasErrors() {
		// A quoted reference ("journey.x"), which dsl accepts with a
		// warning naming the bare spelling.
		if v, ok := staticValue(expr); ok && v.Type() == cty.String && !v.IsNull() {
			if t, d := hclsyntax.ParseTraversalAbs([]byte(v.AsString()), expr.Range().Filename, expr.Range().Start); !d.HasErrors() {
				trav, diags = t, nil
			}
		}
	}
	bad := hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Invalid %s reference", kind),
		Detail:   fmt.Sprintf("The %s setting must be a reference of the form %s.NAME.", setting, kind),
		Subject:  expr.Range().Ptr(),
	}}
	if diags.HasErrors() || len(trav) != 2 || trav.RootName() != kind {
		return "", bad
	}
	attr, ok := trav[1].(hcl.TraverseAttr)
	if !ok || attr.Name == "" {
		return "", bad
	}
	return attr.Name, nil
}

// diagMessage flattens diagnostics into a SettingError message.
func diagMessage(diags hcl.Diagnostics) string {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			if d.Detail != "" {
				return d.Detail
			}
			return d.Summary
		}
	}
	return "invalid"
}
