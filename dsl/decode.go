package dsl

import (
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

var ctyString = cty.String

// value evaluates a configuration-time attribute and converts it to ty.
// ok is false when the value is unusable: an error was reported, or it is
// unknown because an env() variable is missing (already warned about).
// fromSecret reports whether env() or file() contributed to it.
func (l *loader) value(attr *hcl.Attribute, ty cty.Type) (v cty.Value, fromSecret string, ok bool, diags hcl.Diagnostics) {
	raw, diags := l.evalConfig(attr.Expr)
	if diags.HasErrors() {
		return cty.NilVal, "", false, diags
	}
	raw, marks := raw.UnmarkDeep()
	for m := range marks {
		if ss, is := m.(secretSource); is {
			fromSecret = ss.fn
		}
	}
	if !raw.IsWhollyKnown() {
		return cty.NilVal, fromSecret, false, diags
	}
	if raw.IsNull() {
		return cty.NilVal, "", false, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Null value",
			Detail:   fmt.Sprintf("The attribute %q must have a value; remove it to use the default.", attr.Name),
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	conv, err := convert.Convert(raw, ty)
	if err != nil {
		return cty.NilVal, "", false, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Incorrect attribute value type",
			Detail:   fmt.Sprintf("Inappropriate value for attribute %q: %s.", attr.Name, err),
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	if !conv.IsWhollyKnown() {
		return cty.NilVal, fromSecret, false, diags
	}
	return conv, fromSecret, true, diags
}

func (l *loader) str(attr *hcl.Attribute) (string, bool, hcl.Diagnostics) {
	v, _, ok, diags := l.value(attr, cty.String)
	if !ok {
		return "", false, diags
	}
	return v.AsString(), true, diags
}

// strURL reads a URL attribute like str, and warns about credentials
// written into it (https://user:password@host): in a literal they would
// live in Git like any literal secret. Read with env() or file(), the URL
// is not warned about. instead tells where the credentials belong.
func (l *loader) strURL(attr *hcl.Attribute, owner, instead string) (string, bool, hcl.Diagnostics) {
	v, src, ok, diags := l.value(attr, cty.String)
	if !ok {
		return "", false, diags
	}
	s := v.AsString()
	if src == "" && len(urlCredentials([]byte(s))) > 0 {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Credentials in URL",
			Detail: fmt.Sprintf("The %s of %s holds credentials (%s), and configuration files live in Git, so they would be too. %s",
				attr.Name, owner, MaskURLCredentials(s), instead),
			Subject: attr.Expr.Range().Ptr(),
		})
	}
	return s, true, diags
}

// credentialsElsewhere is strURL's advice for a URL whose server needs no
// credentials of the user's in it.
const credentialsElsewhere = "Take them out of the URL, or read the whole URL with env(\"NAME\") or file(\"path\")."

func (l *loader) boolean(attr *hcl.Attribute) (bool, bool, hcl.Diagnostics) {
	v, _, ok, diags := l.value(attr, cty.Bool)
	if !ok {
		return false, false, diags
	}
	return v.True(), true, diags
}

// integer reads a whole number within [min, max].
func (l *loader) integer(attr *hcl.Attribute, min, max int64) (int64, bool, hcl.Diagnostics) {
	v, _, ok, diags := l.value(attr, cty.Number)
	if !ok {
		return 0, false, diags
	}
	bf := v.AsBigFloat()
	i, acc := bf.Int64()
	if acc != big.Exact || !bf.IsInt() {
		return 0, false, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid number",
			Detail:   fmt.Sprintf("The attribute %q must be a whole number.", attr.Name),
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	if i < min || i > max {
		return 0, false, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Number out of range",
			Detail:   fmt.Sprintf("The attribute %q must be between %d and %d.", attr.Name, min, max),
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	return i, true, diags
}

func (l *loader) strList(attr *hcl.Attribute) ([]string, bool, hcl.Diagnostics) {
	v, _, ok, diags := l.value(attr, cty.List(cty.String))
	if !ok {
		return nil, false, diags
	}
	out := make([]string, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			return nil, false, append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Null list element",
				Detail:   fmt.Sprintf("The list %q may not contain null.", attr.Name),
				Subject:  attr.Expr.Range().Ptr(),
			})
		}
		out = append(out, e.AsString())
	}
	return out, true, diags
}

// duration reads a duration string ("120s", "1d"); a number is accepted as
// seconds. zeroOK admits "0" (never expires) for the caller to warn about.
func (l *loader) duration(attr *hcl.Attribute, zeroOK bool) (time.Duration, bool, hcl.Diagnostics) {
	raw, _, ok, diags := l.value(attr, cty.DynamicPseudoType)
	if !ok {
		return 0, false, diags
	}
	var d time.Duration
	switch {
	case raw.Type() == cty.Number:
		f, _ := raw.AsBigFloat().Float64()
		if f < 0 || f > float64(1<<62)/float64(time.Second) {
			return 0, false, append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid duration",
				Detail:   fmt.Sprintf("The attribute %q must be a duration like \"120s\" or \"1d\".", attr.Name),
				Subject:  attr.Expr.Range().Ptr(),
			})
		}
		d = time.Duration(f * float64(time.Second))
	case raw.Type() == cty.String:
		var err error
		d, err = parseDuration(raw.AsString())
		if err != nil {
			return 0, false, append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid duration",
				Detail:   fmt.Sprintf("Invalid value for attribute %q: %s.", attr.Name, err),
				Subject:  attr.Expr.Range().Ptr(),
			})
		}
	default:
		return 0, false, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Incorrect attribute value type",
			Detail:   fmt.Sprintf("Inappropriate value for attribute %q: a duration string like \"120s\" or \"1d\" is required.", attr.Name),
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	if d == 0 && !zeroOK {
		return 0, false, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid duration",
			Detail:   fmt.Sprintf("The attribute %q must be longer than zero.", attr.Name),
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	return d, true, diags
}

// enum reads a string that must be one of allowed, suggesting the closest.
func (l *loader) enum(attr *hcl.Attribute, allowed ...string) (string, bool, hcl.Diagnostics) {
	s, ok, diags := l.str(attr)
	if !ok {
		return "", false, diags
	}
	for _, a := range allowed {
		if s == a {
			return s, true, diags
		}
	}
	return "", false, append(diags, badEnum(attr.Name, s, attr.Expr.Range(), allowed))
}

func badEnum(name, got string, rng hcl.Range, allowed []string) *hcl.Diagnostic {
	detail := fmt.Sprintf("The attribute %q must be one of %s, not %q.", name, quoteList(allowed), got)
	if s := nameSuggestion(got, allowed); s != "" {
		detail += fmt.Sprintf(" Did you mean %q?", s)
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid value for " + name,
		Detail:   detail,
		Subject:  rng.Ptr(),
	}
}

// secret reads a secret attribute. A literal is accepted with a warning
// that names the attribute (never the value) and is masked in the sources
// kept for snippets.
func (l *loader) secret(attr *hcl.Attribute, owner string) (Secret, bool, hcl.Diagnostics) {
	v, src, ok, diags := l.value(attr, cty.String)
	if !ok {
		if src != "" && !diags.HasErrors() {
			// From a missing env()/file(): set, but empty until run time.
			return newSecret("", src), true, diags
		}
		return Secret{}, false, diags
	}
	if src == "" {
		l.redact(attr.Expr.Range())
		diags = append(diags, literalSecret(attr, owner))
		src = "literal"
	}
	s := v.AsString()
	if s == "" {
		return Secret{}, false, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Empty secret",
			Detail:   fmt.Sprintf("The %s of %s is empty.", attr.Name, owner),
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	return newSecret(s, src), true, diags
}

func literalSecret(attr *hcl.Attribute, owner string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  "Literal secret",
		Detail: fmt.Sprintf("The %s of %s is written as a literal, and configuration files live in Git, so the secret would too. Read it with env(\"NAME\") or file(\"path\") instead.",
			attr.Name, owner),
		Subject: attr.Expr.Range().Ptr(),
	}
}

// redact masks a literal secret in the source kept for snippets. Quotes
// and line breaks stay, so every other range still points at the same
// text.
func (l *loader) redact(rng hcl.Range) {
	l.redactions[rng.Filename] = append(l.redactions[rng.Filename], rng)
}

// oneBlock returns the single block of a type, reporting extras.
func oneBlock(blocks hcl.Blocks, typ, parent string) (*hcl.Block, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	var first *hcl.Block
	for _, b := range blocks {
		if b.Type != typ {
			continue
		}
		if first != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate " + typ + " block",
				Detail:   fmt.Sprintf("%s may hold only one %s block; the first is at %s.", parent, typ, first.DefRange),
				Subject:  b.DefRange.Ptr(),
			})
			continue
		}
		first = b
	}
	return first, diags
}

func missingAttr(name, owner string, rng hcl.Range, why string) *hcl.Diagnostic {
	d := &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Missing required argument",
		Detail:   fmt.Sprintf("The argument %q is required in %s.", name, owner),
		Subject:  rng.Ptr(),
	}
	if why != "" {
		d.Detail = fmt.Sprintf("The argument %q is required in %s: %s", name, owner, why)
	}
	return d
}

// sortedKeys returns a map's keys in order, for deterministic output.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sortByRange orders names by the source position of their blocks.
func sortByRange(names []string, rangeOf func(string) hcl.Range) {
	sort.SliceStable(names, func(i, j int) bool { return rangeBefore(rangeOf(names[i]), rangeOf(names[j])) })
}
