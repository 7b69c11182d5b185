package dsl

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/authd/authd/engine"
)

// scope says which runtime variables an expression may use.
type scope struct {
	what      string          // names the expression's owner in messages
	roots     map[string]bool // allowed variables
	why       string          // why the others are not available
	journey   string          // whose state `state` is; "" when none
	stateKeys map[string]bool
	stateList []string
	ctx       *hcl.EvalContext // built on first use
}

// Variables of runtime expressions, per place.
var (
	nodeRoots       = map[string]bool{"user": true, "request": true, "now": true, "state": true}
	whenRoots       = map[string]bool{"user": true, "request": true}
	replyRoots      = map[string]bool{"user": true, "request": true, "now": true, "state": true}
	claimRoots      = map[string]bool{"user": true, "request": true, "now": true}
	runtimeFuns     = guardedFunctions()
	runtimeFunNames = sortedKeys(runtimeFuns)
)

// checkRuntimeExpr checks a runtime expression statically: every
// reference against engine.RuntimeVariables and the journey's state keys
// (with did-you-mean), no configuration-time functions, and then an
// evaluation over unknown values of the right types, which catches type
// errors and unknown functions. It returns the expression's type
// (cty.DynamicPseudoType when unknown).
func (l *loader) checkRuntimeExpr(expr hcl.Expression, sc *scope) (cty.Type, hcl.Diagnostics) {
	if expr == nil {
		return cty.DynamicPseudoType, nil
	}
	var diags hcl.Diagnostics
	for _, tr := range expr.Variables() {
		if d := sc.checkTraversal(tr); d != nil {
			diags = append(diags, d)
		}
	}
	if se, ok := expr.(hclsyntax.Expression); ok {
		hclsyntax.VisitAll(se, func(n hclsyntax.Node) hcl.Diagnostics {
			call, ok := n.(*hclsyntax.FunctionCallExpr)
			if ok && call.Name != "env" && call.Name != "file" {
				if _, known := runtimeFuns[call.Name]; !known {
					detail := fmt.Sprintf("There is no function named %q.", call.Name)
					if s := nameSuggestion(call.Name, runtimeFunNames); s != "" {
						detail += fmt.Sprintf(" Did you mean %q?", s)
					}
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Call to unknown function",
						Detail:   detail,
						Subject:  call.NameRange.Ptr(),
					})
				}
			}
			if ok && (call.Name == "env" || call.Name == "file") {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Configuration-time function in a runtime expression",
					Detail:   fmt.Sprintf("%s() reads a value when the configuration loads, but this expression (%s) is evaluated while a journey runs. Put the value in an attribute that takes %s(), or in a set_state node's values.", call.Name, sc.what, call.Name),
					Subject:  call.NameRange.Ptr(),
				})
			}
			return nil
		})
	}
	if diags.HasErrors() {
		return cty.DynamicPseudoType, diags
	}
	v, d := expr.Value(sc.evalContext())
	for _, x := range d {
		// The values are unknown stand-ins: never show them.
		x.Expression, x.EvalContext = nil, nil
	}
	diags = append(diags, d...)
	if d.HasErrors() || v == cty.NilVal {
		return cty.DynamicPseudoType, diags
	}
	return v.Type(), diags
}

func (sc *scope) evalContext() *hcl.EvalContext {
	if sc.ctx != nil {
		return sc.ctx
	}
	vars := map[string]cty.Value{}
	for root := range sc.roots {
		switch root {
		case "state":
			m := make(map[string]cty.Value, len(sc.stateList))
			for _, k := range sc.stateList {
				m[k] = cty.DynamicVal
			}
			vars[root] = cty.ObjectVal(m)
		default:
			vars[root] = cty.UnknownVal(engine.RuntimeVariables[root])
		}
	}
	sc.ctx = &hcl.EvalContext{Variables: vars, Functions: map[string]function.Function(runtimeFuns)}
	return sc.ctx
}

func (sc *scope) allowedRoots() []string {
	out := make([]string, 0, len(sc.roots))
	for r := range sc.roots {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// checkTraversal checks one reference like user.groups or state.k.
func (sc *scope) checkTraversal(tr hcl.Traversal) *hcl.Diagnostic {
	root := tr.RootName()
	rng := tr.SourceRange()
	if !sc.roots[root] {
		d := &hcl.Diagnostic{Severity: hcl.DiagError, Subject: rng.Ptr()}
		switch _, runtime := engine.RuntimeVariables[root]; {
		case runtime:
			d.Summary = "Variable not available here"
			d.Detail = fmt.Sprintf("%s cannot use %s: %s", capitalize(sc.what), root, sc.why)
		case isKind(root):
			d.Summary = "Block reference in a runtime expression"
			d.Detail = fmt.Sprintf("%s is evaluated while a journey runs, where %s is not a variable; it can use %s.", capitalize(sc.what), root+".NAME", listWords(sc.allowedRoots()))
		default:
			d.Summary = "Unknown variable"
			d.Detail = fmt.Sprintf("There is no variable named %q.", root)
			if s := nameSuggestion(root, sc.allowedRoots()); s != "" {
				d.Detail += fmt.Sprintf(" Did you mean %q?", s)
			} else {
				d.Detail += fmt.Sprintf(" %s can use %s.", capitalize(sc.what), listWords(sc.allowedRoots()))
			}
		}
		return d
	}
	if root == "state" {
		if len(tr) < 2 {
			return nil
		}
		key, ok := stepName(tr[1])
		if !ok {
			return nil
		}
		if sc.stateKeys[key] {
			return nil
		}
		detail := fmt.Sprintf("No node of journey %q writes the state key %q", sc.journey, key)
		if sc.journey == "" {
			detail = fmt.Sprintf("No node writes the state key %q", key)
		}
		switch s := nameSuggestion(key, sc.stateList); {
		case s != "":
			detail += fmt.Sprintf(". Did you mean %q?", "state."+s)
		case len(sc.stateList) == 0:
			detail += "; no node of it writes shared state at all (set_state does, and so do nodes like push_sender)."
		default:
			detail += fmt.Sprintf("; the keys written are %s.", quoteList(sc.stateList))
		}
		return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown state key", Detail: detail, Subject: rng.Ptr()}
	}
	ty := engine.RuntimeVariables[root]
	path := root
	for _, step := range tr[1:] {
		name, isName := stepName(step)
		switch {
		case ty.IsObjectType():
			if !isName {
				return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid index", Detail: fmt.Sprintf("%s is an object; use an attribute name, like %s.%s.", path, path, firstAttr(ty)), Subject: rng.Ptr()}
			}
			if !ty.HasAttribute(name) {
				names := attrNames(ty)
				detail := fmt.Sprintf("%s has no attribute %q.", path, name)
				if s := nameSuggestion(name, names); s != "" {
					detail += fmt.Sprintf(" Did you mean %q?", path+"."+s)
				} else {
					detail += fmt.Sprintf(" Its attributes are %s.", listWords(names))
				}
				return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsupported attribute", Detail: detail, Subject: rng.Ptr()}
			}
			ty = ty.AttributeType(name)
			path += "." + name
		case ty.IsMapType():
			ty = ty.ElementType()
			path += "[…]"
		case ty.IsListType():
			if isName {
				if _, attr := step.(hcl.TraverseAttr); attr {
					return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsupported attribute", Detail: fmt.Sprintf("%s is a list of strings; it has no attribute %q. Index it, like %s[0], or use it whole, like contains(%s, \"x\").", path, name, path, path), Subject: rng.Ptr()}
				}
			}
			ty = ty.ElementType()
			path += "[…]"
		default:
			return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsupported attribute", Detail: fmt.Sprintf("%s is a %s and has no attributes or elements.", path, ty.FriendlyName()), Subject: rng.Ptr()}
		}
	}
	return nil
}

// stepName returns the name an attribute step or string index names.
func stepName(step hcl.Traverser) (string, bool) {
	switch s := step.(type) {
	case hcl.TraverseAttr:
		return s.Name, true
	case hcl.TraverseIndex:
		if s.Key.Type() == cty.String && s.Key.IsKnown() && !s.Key.IsNull() {
			return s.Key.AsString(), true
		}
	}
	return "", false
}

func attrNames(ty cty.Type) []string {
	names := make([]string, 0, len(ty.AttributeTypes()))
	for n := range ty.AttributeTypes() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func firstAttr(ty cty.Type) string {
	if n := attrNames(ty); len(n) > 0 {
		return n[0]
	}
	return "NAME"
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
