package dsl

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/authd/authd/engine"
)

// secretSource marks a cty value that came from env() or file(). Marks
// survive functions and templates, so `trimspace(file("x"))` still counts
// as a secret source while a literal string does not.
type secretSource struct{ fn string }

// maxFileSize bounds what file() reads: it is meant for secrets and keys,
// not for data.
const maxFileSize = 1 << 20

// missingSource is an env() variable or file() path that was absent while
// an expression was evaluated; the caller turns it into a diagnostic with
// the expression's range.
type missingSource struct {
	fn   string // "env" or "file"
	name string
}

// configFunctions returns the configuration-time functions: the runtime set
// (so a value can be computed the same way in both places) plus env() and
// file(). When mark is true their results carry the secretSource mark;
// node settings are decoded by gohcl, which cannot take marked values, so
// they use the unmarked variant.
func (l *loader) configFunctions(mark bool) map[string]function.Function {
	fns := guardedFunctions()
	fns["env"] = function.New(&function.Spec{
		Description: "Returns the value of an environment variable of the authd process.",
		Params:      []function.Parameter{{Name: "name", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name := args[0].AsString()
			if name == "" {
				return cty.UnknownVal(cty.String), fmt.Errorf("the variable name is empty")
			}
			v, ok := l.lookupEnv(name)
			if !ok {
				l.missing = append(l.missing, missingSource{fn: "env", name: name})
				return markIf(cty.UnknownVal(cty.String), mark, "env"), nil
			}
			if !utf8.ValidString(v) {
				return cty.UnknownVal(cty.String), fmt.Errorf("the environment variable %q is not valid UTF-8", name)
			}
			return markIf(cty.StringVal(v), mark, "env"), nil
		},
	})
	fns["file"] = function.New(&function.Spec{
		Description: "Returns the content of a file below the configuration directory, less one trailing newline.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p := args[0].AsString()
			full, err := l.resolveInside(p)
			if err != nil {
				return cty.UnknownVal(cty.String), err
			}
			l.secretFiles[full] = true
			st, err := os.Stat(full)
			if err != nil {
				if os.IsNotExist(err) {
					l.missing = append(l.missing, missingSource{fn: "file", name: p})
					return markIf(cty.UnknownVal(cty.String), mark, "file"), nil
				}
				return cty.UnknownVal(cty.String), fmt.Errorf("cannot read %q: %s", p, pathErr(err))
			}
			if st.IsDir() {
				return cty.UnknownVal(cty.String), fmt.Errorf("%q is a directory, not a file", p)
			}
			if st.Size() > maxFileSize {
				return cty.UnknownVal(cty.String), fmt.Errorf("%q is larger than 1 MiB; file() is meant for secrets and keys", p)
			}
			b, err := os.ReadFile(full)
			if err != nil {
				return cty.UnknownVal(cty.String), fmt.Errorf("cannot read %q: %s", p, pathErr(err))
			}
			if !utf8.Valid(b) {
				return cty.UnknownVal(cty.String), fmt.Errorf("%q is not UTF-8 text; file() reads text such as a PEM key or a secret", p)
			}
			s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
			return markIf(cty.StringVal(s), mark, "file"), nil
		},
	})
	return fns
}

func markIf(v cty.Value, mark bool, fn string) cty.Value {
	if mark {
		return v.Mark(secretSource{fn: fn})
	}
	return v
}

// pathErr keeps an *os.PathError's cause without its (absolute) path.
func pathErr(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// resolveInside resolves p against the directory of the file being
// decoded and refuses anything outside it: configurations are reviewed in
// Git, and a file("../../etc/shadow") would smuggle in what no one
// reviewed.
func (l *loader) resolveInside(p string) (string, error) {
	if l.curBase == "" {
		return "", fmt.Errorf("file() is not available here: this configuration was not loaded from a directory")
	}
	if p == "" {
		return "", fmt.Errorf("the path is empty")
	}
	if filepath.IsAbs(p) || strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) || filepath.VolumeName(p) != "" {
		return "", fmt.Errorf("the path %q is absolute; file() takes a path relative to the configuration directory", p)
	}
	base, err := filepath.Abs(l.curBase)
	if err != nil {
		return "", fmt.Errorf("cannot resolve the configuration directory: %s", pathErr(err))
	}
	full := filepath.Join(base, filepath.FromSlash(p))
	if !within(base, full) {
		return "", fmt.Errorf("the path %q is outside the configuration directory", p)
	}
	// A symlink inside the directory may still point outside it.
	if realBase, err := filepath.EvalSymlinks(base); err == nil {
		if realFull, err := filepath.EvalSymlinks(full); err == nil && !within(realBase, realFull) {
			return "", fmt.Errorf("the path %q leads outside the configuration directory through a symbolic link", p)
		}
	}
	return full, nil
}

func within(base, p string) bool {
	rel, err := filepath.Rel(base, p)
	if err != nil {
		return false
	}
	return rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// evalConfig evaluates a configuration-time expression: functions only,
// no variables. References between blocks are never evaluated; they are
// read as traversals by refs.go.
func (l *loader) evalConfig(expr hcl.Expression) (cty.Value, hcl.Diagnostics) {
	l.missing = l.missing[:0]
	v, diags := expr.Value(l.ctx)
	diags = append(diags, l.flushMissing(expr)...)
	return v, diags
}

// flushMissing turns the env()/file() lookups that failed while expr was
// evaluated into diagnostics: warnings for validate (CI lacks secrets),
// errors when Options.RequireEnv says the server is about to run.
func (l *loader) flushMissing(exprs ...hcl.Expression) hcl.Diagnostics {
	if len(l.missing) == 0 {
		return nil
	}
	var diags hcl.Diagnostics
	seen := map[missingSource]bool{}
	for _, m := range l.missing {
		if seen[m] {
			continue
		}
		seen[m] = true
		rng := findCallRange(exprs, m)
		sev := hcl.DiagWarning
		if l.opts.RequireEnv {
			sev = hcl.DiagError
		}
		d := &hcl.Diagnostic{Severity: sev, Subject: rng.Ptr(), Extra: environmental{}}
		switch {
		case m.fn == "env" && l.opts.RequireEnv:
			d.Summary = "Environment variable not set"
			d.Detail = fmt.Sprintf("The environment variable %q read by env() is not set, and authd cannot start without it. Set it in the service's environment (for systemd, an Environment= or EnvironmentFile= line).", m.name)
		case m.fn == "env":
			d.Summary = "Environment variable not set"
			d.Detail = fmt.Sprintf("The environment variable %q read by env() is not set here. validate only warns, since CI usually has no secrets, but authd run will refuse to start without it.", m.name)
		case l.opts.RequireEnv:
			d.Summary = "File not found"
			d.Detail = fmt.Sprintf("The file %q read by file() does not exist below the configuration directory, and authd cannot start without it.", m.name)
		default:
			d.Summary = "File not found"
			d.Detail = fmt.Sprintf("The file %q read by file() does not exist below the configuration directory. validate only warns, since secret files are usually absent in CI, but authd run will refuse to start without it.", m.name)
		}
		diags = append(diags, d)
	}
	l.missing = l.missing[:0]
	return diags
}

// environmental marks a diagnostic about the machine rather than the
// configuration (a secret missing from this environment): Strict leaves
// it a warning, so `validate -strict` in CI, which has no secrets, still
// judges the configuration alone.
type environmental struct{}

// findCallRange finds the env("NAME") or file("path") call among exprs so
// the diagnostic points at it rather than at a whole block.
func findCallRange(exprs []hcl.Expression, m missingSource) hcl.Range {
	var found *hcl.Range
	for _, e := range exprs {
		if e == nil {
			continue
		}
		se, ok := e.(hclsyntax.Expression)
		if !ok {
			if found == nil {
				r := e.Range()
				found = &r
			}
			continue
		}
		var hit *hcl.Range
		hclsyntax.VisitAll(se, func(n hclsyntax.Node) hcl.Diagnostics {
			call, ok := n.(*hclsyntax.FunctionCallExpr)
			if !ok || hit != nil || call.Name != m.fn || len(call.Args) != 1 {
				return nil
			}
			if v, d := call.Args[0].Value(nil); !d.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() && v.AsString() == m.name {
				r := call.Range()
				hit = &r
			}
			return nil
		})
		if hit != nil {
			return *hit
		}
		if found == nil {
			r := e.Range()
			found = &r
		}
	}
	if found != nil {
		return *found
	}
	return hcl.Range{}
}

// maxPad bounds the widths format() and indent() may ask for while a
// configuration is checked: a typo like "%99999999s" would otherwise make
// validate allocate gigabytes.
const maxPad = 4096

var padRE = regexp.MustCompile(`%[-+# 0]*(\d*)(?:\.(\d*))?`)

// guardedFunctions is engine.Functions() with format, formatlist and
// indent refusing absurd widths. Used for everything dsl evaluates.
func guardedFunctions() map[string]function.Function {
	fns := engine.Functions()
	for _, name := range []string{"format", "formatlist"} {
		fns[name] = guard(fns[name], func(args []cty.Value) error {
			if len(args) == 0 || !args[0].IsKnown() || args[0].IsNull() || !args[0].Type().Equals(cty.String) {
				return nil
			}
			for _, m := range padRE.FindAllStringSubmatch(args[0].AsString(), -1) {
				for _, n := range m[1:] {
					if len(n) > 4 || (n != "" && atoiSafe(n) > maxPad) {
						return fmt.Errorf("a width or precision above %d is not supported", maxPad)
					}
				}
			}
			return nil
		})
	}
	fns["indent"] = guard(fns["indent"], func(args []cty.Value) error {
		if len(args) == 0 || !args[0].IsKnown() || args[0].IsNull() || !args[0].Type().Equals(cty.Number) {
			return nil
		}
		if f, _ := args[0].AsBigFloat().Float64(); f > maxPad {
			return fmt.Errorf("indenting by more than %d spaces is not supported", maxPad)
		}
		return nil
	})
	return fns
}

func atoiSafe(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
		if n > 1<<20 {
			return n
		}
	}
	return n
}

// guard wraps fn so check runs on its (unmarked) arguments first.
func guard(fn function.Function, check func([]cty.Value) error) function.Function {
	spec := &function.Spec{
		Description: fn.Description(),
		Params:      fn.Params(),
		VarParam:    fn.VarParam(),
		Type: func(args []cty.Value) (cty.Type, error) {
			return fn.ReturnTypeForValues(args)
		},
		RefineResult: nil,
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			plain := make([]cty.Value, len(args))
			for i, a := range args {
				plain[i], _ = a.UnmarkDeep()
			}
			if err := check(plain); err != nil {
				return cty.DynamicVal, err
			}
			return fn.Call(args)
		},
	}
	return function.New(spec)
}
