package dsl

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Block kinds that can be referenced as KIND.NAME.
const (
	kindRealm             = "realm"
	kindJourney           = "journey"
	kindNode              = "node"
	kindPushProvider      = "push_provider"
	kindSMSGateway        = "sms_gateway"
	kindRADIUSClient      = "radius_client"
	kindRADIUSPolicy      = "radius_policy"
	kindRelyingParty      = "relying_party"
	kindProtectedResource = "protected_resource"
	kindIdentityProvider  = "identity_provider"
)

// refKinds are the kinds a reference may name, for did-you-mean on a
// misspelt kind.
var refKinds = []string{
	kindRealm, kindJourney, kindNode, kindPushProvider, kindSMSGateway, kindRADIUSClient,
	kindRADIUSPolicy, kindRelyingParty, kindProtectedResource, kindIdentityProvider,
}

// ref is a parsed KIND.NAME reference with the range of its source text.
type ref struct {
	kind, name string
	rng        hcl.Range
}

func (r ref) String() string { return r.kind + "." + r.name }

// terminalRef is the kind given to a bare `success` or `failure`.
const terminalRef = "terminal"

// parseRef reads a reference to a block of kind want from expr. In native
// syntax it is a bare traversal (realm.corp); in JSON a string
// ("realm.corp"). A quoted reference in native syntax is accepted with a
// warning that names the canonical spelling. allowTerminal admits the bare
// keywords success and failure (journey edges).
func parseRef(expr hcl.Expression, want, attr string, allowTerminal bool) (_ ref, diags hcl.Diagnostics) {
	quoted := ""
	defer func() {
		if quoted != "" && !diags.HasErrors() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Quoted reference",
				Detail:   fmt.Sprintf("A reference is written without quotes: %s, not %q. JSON files quote it; native files do not.", quoted, quoted),
				Subject:  expr.Range().Ptr(),
			})
		}
	}()
	trav, tdiags := hcl.AbsTraversalForExpr(expr)
	if tdiags.HasErrors() {
		// A quoted reference in native syntax: "node.x" or "success".
		if s, ok := staticString(expr); ok {
			if t, pd := hclsyntax.ParseTraversalAbs([]byte(s), expr.Range().Filename, expr.Range().Start); !pd.HasErrors() {
				trav = t
				if _, isNative := expr.(hclsyntax.Expression); isNative {
					quoted = s
				}
			}
		}
		if trav == nil {
			return ref{}, append(diags, invalidRef(expr, want, attr, allowTerminal, ""))
		}
	}
	rng := expr.Range()
	root := trav.RootName()
	if len(trav) == 1 {
		if allowTerminal && (root == "success" || root == "failure") {
			return ref{kind: terminalRef, name: root, rng: rng}, diags
		}
		return ref{}, append(diags, invalidRef(expr, want, attr, allowTerminal, root))
	}
	if len(trav) != 2 {
		return ref{}, append(diags, invalidRef(expr, want, attr, allowTerminal, ""))
	}
	step, ok := trav[1].(hcl.TraverseAttr)
	if !ok {
		return ref{}, append(diags, invalidRef(expr, want, attr, allowTerminal, ""))
	}
	if root != want {
		d := &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid reference",
			Subject:  rng.Ptr(),
		}
		if isKind(root) {
			d.Summary = "Reference of the wrong kind"
			d.Detail = fmt.Sprintf("%s must refer to %s %s, like %s.%s, but %s.%s is %s %s.", attr, article(want), want, want, step.Name, root, step.Name, article(root), root)
		} else {
			d.Detail = fmt.Sprintf("%s must refer to %s %s, like %s.NAME.", attr, article(want), want, want)
			if s := nameSuggestion(root, refKinds); s == want {
				d.Detail += fmt.Sprintf(" Did you mean %q?", want+"."+step.Name)
			}
		}
		return ref{}, append(diags, d)
	}
	return ref{kind: root, name: step.Name, rng: rng}, diags
}

func isKind(s string) bool {
	for _, k := range refKinds {
		if k == s {
			return true
		}
	}
	return false
}

func invalidRef(expr hcl.Expression, want, attr string, allowTerminal bool, bare string) *hcl.Diagnostic {
	detail := fmt.Sprintf("%s must be a reference to %s %s, like %s.NAME.", attr, article(want), want, want)
	if allowTerminal {
		detail = fmt.Sprintf("%s must lead to node.NAME, success or failure.", attr)
	}
	d := &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid reference",
		Detail:   detail,
		Subject:  expr.Range().Ptr(),
	}
	switch s, ok := staticString(expr); {
	case ok && validIdentifier(s):
		d.Detail += fmt.Sprintf(" To refer to the %s named %q, write %s.%s without quotes.", want, s, want, s)
	case bare != "" && allowTerminal && terminalSuggestion(bare) != "":
		d.Detail += fmt.Sprintf(" Did you mean %s?", terminalSuggestion(bare))
	case bare != "" && validIdentifier(bare):
		d.Detail += fmt.Sprintf(" Did you mean %s.%s?", want, bare)
	}
	return d
}

// staticString returns expr's value when it is a constant string.
func staticString(expr hcl.Expression) (string, bool) {
	if len(expr.Variables()) > 0 {
		return "", false
	}
	if k, ok := expr.(*hclsyntax.ObjectConsKeyExpr); ok {
		if k.ForceNonLiteral || hcl.ExprAsKeyword(k.Wrapped) != "" {
			return "", false
		}
		expr = k.Wrapped
	}
	if hs, ok := expr.(hclsyntax.Expression); ok {
		switch hs.(type) {
		case *hclsyntax.TemplateExpr, *hclsyntax.LiteralValueExpr, *hclsyntax.TemplateWrapExpr:
		default:
			return "", false
		}
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || !v.Type().Equals(ctyString) {
		return "", false
	}
	return v.AsString(), true
}

// parseRefList reads a list of references, like push_providers.
func parseRefList(expr hcl.Expression, want, attr string) ([]ref, hcl.Diagnostics) {
	exprs, diags := hcl.ExprList(expr)
	if diags.HasErrors() {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid reference list",
			Detail:   fmt.Sprintf("%s must be a list of references to %s blocks, like [%s.a, %s.b].", attr, want, want, want),
			Subject:  expr.Range().Ptr(),
		}}
	}
	var out []ref
	seen := map[string]hcl.Range{}
	for _, e := range exprs {
		r, d := parseRef(e, want, attr, false)
		diags = append(diags, d...)
		if r.name == "" {
			continue
		}
		if prev, dup := seen[r.name]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Duplicate list entry",
				Detail:   fmt.Sprintf("%s lists %s twice (first at line %d).", attr, r, prev.Start.Line),
				Subject:  r.rng.Ptr(),
			})
			continue
		}
		seen[r.name] = r.rng
		out = append(out, r)
	}
	return out, diags
}

// resolve checks that r names a declared block and suggests a close name
// when it does not.
func (l *loader) resolve(r ref) hcl.Diagnostics {
	if r.kind == "" || r.kind == terminalRef {
		return nil
	}
	if _, ok := l.decls[r.kind][r.name]; ok {
		return nil
	}
	return hcl.Diagnostics{undeclared(r, l.sortedNames(r.kind), "")}
}

func undeclared(r ref, names []string, where string) *hcl.Diagnostic {
	detail := fmt.Sprintf("There is no %s named %q%s.", r.kind, r.name, where)
	if s := nameSuggestion(r.name, names); s != "" {
		detail += fmt.Sprintf(" Did you mean %q?", r.kind+"."+s)
	} else if len(names) == 0 {
		detail += fmt.Sprintf(" The configuration declares no %s blocks.", r.kind)
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Reference to undeclared " + r.kind,
		Detail:   detail,
		Subject:  r.rng.Ptr(),
	}
}

// sortedNames lists the declared names of a kind, sorted, for
// suggestions; cached because a large configuration may ask often.
func (l *loader) sortedNames(kind string) []string {
	if s, ok := l.nameCache[kind]; ok {
		return s
	}
	s := make([]string, 0, len(l.decls[kind]))
	for n := range l.decls[kind] {
		s = append(s, n)
	}
	sort.Strings(s)
	if l.nameCache == nil {
		l.nameCache = map[string][]string{}
	}
	l.nameCache[kind] = s
	return s
}

// nameSuggestion returns the candidate closest to given within an edit
// distance of two (hcl's own threshold), or "" when none is close. Ties go
// to the earlier candidate, so a sorted list gives a stable answer.
func nameSuggestion(given string, candidates []string) string {
	best, bestDist := "", 3
	lg := len(given)
	for _, c := range candidates {
		if d := len(c) - lg; d >= bestDist || -d >= bestDist {
			continue // cannot be within the threshold; skip the DP
		}
		if d := levenshtein.Distance(given, c, nil); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// listWords formats names as "a, b and c" for messages.
func listWords(names []string) string {
	switch len(names) {
	case 0:
		return "none"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// quoteList formats names as `"a", "b" and "c"`.
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return listWords(q)
}

// article is "a" or "an" for a block kind.
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// terminalSuggestion maps a near miss like "fail" or "succes" to the
// terminal meant.
func terminalSuggestion(bare string) string {
	for _, t := range []string{"success", "failure"} {
		if len(bare) >= 3 && strings.HasPrefix(t, bare) {
			return t
		}
	}
	return nameSuggestion(bare, []string{"success", "failure"})
}

// validIdentifier reports whether s can follow KIND. in a reference: an
// HCL identifier (a letter or underscore, then letters, digits,
// underscores and dashes). hclsyntax.ValidIdentifier runs the whole lexer
// per call, which a large configuration notices.
func validIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || unicode.IsLetter(r):
		case i > 0 && (r == '-' || unicode.IsDigit(r) || unicode.In(r, unicode.Mn, unicode.Mc, unicode.Pc)):
		default:
			return false
		}
	}
	return true
}
