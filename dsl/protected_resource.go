package dsl

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

var protectedResourceSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "realm", Required: true},
		{Name: "token_validation"},
		{Name: "required_scopes"},
	},
}

// decodeProtectedResourceBlock decodes a protected_resource;
// token_validation defaults to "internal".
func decodeProtectedResourceBlock(l *loader, block *hcl.Block) (*ProtectedResource, hcl.Diagnostics) {
	pr := &ProtectedResource{Name: block.Labels[0], TokenValidation: "internal", DeclRange: block.DefRange}
	content, diags := block.Body.Content(protectedResourceSchema)
	if content == nil {
		return pr, diags
	}
	if a := content.Attributes["realm"]; a != nil {
		r, d := parseRef(a.Expr, kindRealm, "realm", false)
		diags = append(diags, d...)
		pr.Realm = r.name
		if l.isFirst(block) {
			l.prRefs[pr.Name] = r
		}
	}
	if a := content.Attributes["token_validation"]; a != nil {
		v, ok, d := l.enum(a, "internal", "external")
		diags = append(diags, d...)
		if ok {
			pr.TokenValidation = v
		}
	}
	if a := content.Attributes["required_scopes"]; a != nil {
		v, ok, d := l.strList(a)
		diags = append(diags, d...)
		if ok {
			pr.RequiredScopes = v
			if len(v) == 0 {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagWarning,
					Summary:  "No required scopes",
					Detail:   fmt.Sprintf("protected_resource %q requires no scope, so any valid token of the realm is let in. List the scopes it needs.", pr.Name),
					Subject:  a.Expr.Range().Ptr(),
				})
			}
		}
	}
	return pr, diags
}

func (l *loader) linkProtectedResources() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range sortedKeys(l.prRefs) {
		diags = append(diags, l.resolve(l.prRefs[name])...)
	}
	return diags
}
