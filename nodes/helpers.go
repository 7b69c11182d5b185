package nodes

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/users"
)

// Transient keys nodes hand each other within one request. They are never
// stored in the session.
const (
	// transientPassword carries the password from credentials/password to
	// password_check.
	transientPassword = "password"
	// transientCredentialsTaken marks that the request's own credentials
	// (RADIUS PAP) were consumed, so a loop back to a credentials node in
	// the same request asks instead of reusing them.
	transientCredentialsTaken = "nodes.credentials_taken"
)

// settings returns cfg as *T. dsl always hands back the pointer Config
// returned, so a mismatch is a wiring bug reported as an error, not a panic.
func settings[T any](cfg any) (*T, error) {
	c, ok := cfg.(*T)
	if !ok || c == nil {
		var zero T
		return nil, fmt.Errorf("nodes: settings of type %T, want *%T", cfg, zero)
	}
	return c, nil
}

// settingsOr is settings for the functions that cannot fail (Outcomes,
// StateKeys, Warnings): an unexpected cfg reads as the defaults.
func settingsOr[T any](cfg any, defaults func() *T) *T {
	if c, ok := cfg.(*T); ok && c != nil {
		return c
	}
	return defaults()
}

// problems collects the setting errors of one node so New reports them all.
type problems []*engine.SettingError

func (p *problems) add(setting, format string, args ...any) {
	*p = append(*p, &engine.SettingError{Setting: setting, Message: fmt.Sprintf(format, args...)})
}

func (p *problems) addErr(e *engine.SettingError) {
	if e != nil {
		*p = append(*p, e)
	}
}

// err is nil, the single *engine.SettingError, or engine.SettingErrors.
func (p problems) err() error {
	switch len(p) {
	case 0:
		return nil
	case 1:
		return p[0]
	}
	return engine.SettingErrors(p)
}

func warning(setting, format string, args ...any) *engine.SettingError {
	return &engine.SettingError{Setting: setting, Message: fmt.Sprintf(format, args...), Warning: true}
}

// outcomes builds an outcome list from names.
func outcomes(names ...string) []engine.Outcome {
	out := make([]engine.Outcome, len(names))
	for i, n := range names {
		out[i] = engine.Outcome(n)
	}
	return out
}

// noSettings is the settings struct of node types that take none; gohcl
// then reports any attribute as unexpected.
type noSettings struct{}

func newNoSettings() any { return &noSettings{} }

// providesOn returns a Provides function: facts established when the node
// leaves by outcome o.
func providesOn(o engine.Outcome, facts ...engine.Fact) func(any, engine.Outcome) []engine.Fact {
	return func(_ any, got engine.Outcome) []engine.Fact {
		if got == o {
			return append([]engine.Fact(nil), facts...)
		}
		return nil
	}
}

// providesNothing is the Provides of nodes that establish no fact.
func providesNothing(any, engine.Outcome) []engine.Fact { return nil }

// noStateKeys is the StateKeys of nodes that write no shared state.
func noStateKeys(any) []string { return nil }

// fixedStateKeys returns a StateKeys function listing keys.
func fixedStateKeys(keys ...string) func(any) []string {
	return func(any) []string { return append([]string(nil), keys...) }
}

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validName reports whether s can be an outcome or state key name: an HCL
// identifier without dashes (state.a-b would read as a subtraction), so it
// reads the same as `state.K`, as an outcomes key and in every front end.
func validName(s string) bool { return nameRE.MatchString(s) && hclsyntax.ValidIdentifier(s) }

// realmName is the realm the session runs in.
func realmName(nc *engine.Context) string {
	if nc.Realm != nil && nc.Realm.Name != "" {
		return nc.Realm.Name
	}
	if nc.Session != nil {
		return nc.Session.Realm
	}
	return ""
}

// issuer is what {{issuer}} expands to: the realm's display name, or its
// name when it has none.
func issuer(nc *engine.Context) string {
	if nc.Realm != nil {
		if nc.Realm.DisplayName != "" {
			return nc.Realm.DisplayName
		}
		return nc.Realm.Name
	}
	if nc.Session != nil {
		return nc.Session.Realm
	}
	return ""
}

// request is the request driving this step, or the one that started the
// session when the front end gave none.
func request(nc *engine.Context) *engine.Request {
	if nc.Request != nil {
		return nc.Request
	}
	if nc.Session != nil {
		return &nc.Session.Origin
	}
	return &engine.Request{}
}

// userRepo returns the realm's user store, or a fault when none is wired.
func userRepo(nc *engine.Context) (*users.Repo, error) {
	if nc.Services == nil || nc.Services.Users == nil {
		return nil, errors.New("no user store configured")
	}
	return nc.Services.Users, nil
}

// expand replaces the placeholders of user-facing text: {{user}} with the
// user name and {{issuer}} with the realm's display name.
func expand(text string, nc *engine.Context) string {
	if !strings.Contains(text, "{{") {
		return text
	}
	return strings.NewReplacer("{{user}}", nc.UserName(), "{{issuer}}", issuer(nc)).Replace(text)
}

// isNullExpr reports whether expr is the null gohcl synthesises for an
// optional expression attribute that was left out (or a literal null).
func isNullExpr(expr hcl.Expression) bool {
	if expr == nil {
		return true
	}
	if len(expr.Variables()) > 0 {
		return false
	}
	v, diags := expr.Value(nil)
	return !diags.HasErrors() && v.IsNull()
}

// staticValue evaluates expr when it uses no variables, so New can check
// literal settings early; ok is false when it needs runtime values.
func staticValue(expr hcl.Expression) (cty.Value, bool) {
	if expr == nil || len(expr.Variables()) > 0 {
		return cty.NilVal, false
	}
	v, diags := expr.Value(&hcl.EvalContext{Functions: engine.Functions()})
	if diags.HasErrors() || !v.IsWhollyKnown() {
		return cty.NilVal, false
	}
	return v, true
}

// sortedKeys returns the keys of m in order, for deterministic output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkRange reports an integer setting outside [min, max].
func checkRange(p *problems, setting string, v, min, max int) {
	if v < min || v > max {
		p.add(setting, "must be between %d and %d, not %d", min, max, v)
	}
}

// checkOneOf reports a string setting that is not one of allowed.
func checkOneOf(p *problems, setting, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	p.add(setting, "must be one of %s, not %q", strings.Join(quoteAll(allowed), ", "), v)
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// withoutSettings is the New of node types that take no settings; nil
// settings are accepted too, as NodeType.Config documents nil as "none".
func withoutSettings(n engine.Node) func(any) (engine.Node, error) {
	return func(cfg any) (engine.Node, error) {
		if cfg == nil {
			return n, nil
		}
		if _, err := settings[noSettings](cfg); err != nil {
			return nil, err
		}
		return n, nil
	}
}
