package scenario

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/nodes"
)

// DefaultClock is the time scenarios start at when their file sets no
// clock: fixed, so a run today and a run next year take the same path.
var DefaultClock = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestsDir is the subdirectory of a configuration directory that may hold
// scenario files besides the ones next to the configuration.
const TestsDir = "tests"

// Suite is every scenario file of one configuration directory, decoded.
// Users are shared by all its files (like the configuration, the files
// are one whole); each file may set its own clock.
type Suite struct {
	// Dir is the configuration directory the scenarios test.
	Dir   string
	Users []*User
	// Scenarios are in file order (names sorted), then source order.
	Scenarios []*Scenario
	// Files are the parsed sources, for diagnostic snippets.
	Files map[string]*hcl.File
}

// User is a fixture: an account created in the scenario's store before it
// runs, with what its second factors need.
type User struct {
	Name     string
	Realm    string // "" until resolved: the only realm of the configuration
	Password string // "" means no password (password_check fails)
	Groups   []string
	Email    string
	Phone    string
	// Attributes are the user's attributes (user.attributes["k"]).
	Attributes map[string]string
	// OTP enrols a confirmed token of this type ("totp" or "hotp"); "" none.
	OTP string
	// PushDevice enrols a simulated phone that answers pushes as the
	// scenario's device says.
	PushDevice bool
	// RecoveryCodes is how many recovery codes to generate (0: none).
	RecoveryCodes int
	// Locked starts the account locked (for a day past the clock).
	Locked    bool
	DeclRange hcl.Range
	realmAt   hcl.Range
}

// Front ends a scenario can go through.
const (
	FrontendAPI    = "api"
	FrontendRADIUS = "radius"
	FrontendOAuth  = "oauth"
)

// Scenario is one login, from the first request to the outcome.
type Scenario struct {
	Name     string
	File     string
	Journey  string // api: required; radius: the policy decides; oauth: the client's
	Realm    string // default: the journey's
	Frontend string // api (default), radius, oauth
	Clock    time.Time

	ClientIP, UserAgent, Locale string
	// Device is how every simulated phone answers pushes from the start.
	Device Device

	// RADIUS: the client the request comes from, and what it says.
	RADIUSClient, RADIUSPolicy      string
	NASIdentifier, CallingStationID string
	// OAuth: the relying party and the scopes asked for.
	Client string
	Scopes []string

	Steps     []*Step
	Expect    *Expect
	DeclRange hcl.Range
	NameRange hcl.Range
	ranges    map[string]hcl.Range
}

// rangeOf is where the scenario sets an attribute, else its header.
func (sc *Scenario) rangeOf(name string) hcl.Range {
	if r, ok := sc.ranges[name]; ok {
		return r
	}
	return sc.DeclRange
}

// Step is one round trip: what the client sees, then what it answers.
type Step struct {
	// ExpectNode, ExpectPrompt and ExpectCallbacks describe the suspension
	// this step answers; empty or nil means "not checked".
	ExpectNode      string
	ExpectPrompt    string
	ExpectCallbacks []string
	// Advance moves the clock before the answer is sent.
	Advance time.Duration
	// Device changes how the phones answer, from this step on; it applies
	// at once to a push still pending.
	Device *Device
	// Answer is an object expression of callback id = value, evaluated
	// when the step runs (otp("alice") reads the clock then).
	Answer hcl.Expression

	Index     int
	DeclRange hcl.Range
	ranges    map[string]hcl.Range
}

// Expect is what must hold at the end. Nil maps and slices are unchecked.
type Expect struct {
	Outcome string // success, failure, suspended or expired; "" unchecked
	Path    []string
	HasPath bool
	User    *string
	Reason  string // a substring of the engine's reason
	// State, RADIUSAttributes and Claims list the keys that must have
	// these values; other keys are not checked.
	State            map[string]cty.Value
	RADIUSAttributes map[string]cty.Value
	Claims           map[string]cty.Value
	Pushes           *int

	DeclRange hcl.Range
	ranges    map[string]hcl.Range
}

// Find lists the scenario files of a configuration directory: the
// *.authtest.hcl (and .authtest.hcl.json) files in it and in its tests/
// subdirectory, sorted.
func Find(dir string) ([]string, error) {
	var out []string
	for _, d := range []string{dir, filepath.Join(dir, TestsDir)} {
		ents, err := os.ReadDir(d)
		if err != nil {
			if d != dir && os.IsNotExist(err) {
				continue
			}
			return nil, err
		}
		for _, e := range ents {
			if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") && dsl.IsTestFile(e.Name()) {
				out = append(out, filepath.Join(d, e.Name()))
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

var rootSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "clock"}},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "user", LabelNames: []string{"name"}},
		{Type: "scenario", LabelNames: []string{"name"}},
	},
}

var userSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "realm"}, {Name: "password"}, {Name: "groups"}, {Name: "email"}, {Name: "phone"},
		{Name: "attributes"}, {Name: "otp"}, {Name: "push_device"}, {Name: "recovery_codes"}, {Name: "locked"},
		{Name: "otp_secret"},
	},
}

var scenarioSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "journey"}, {Name: "realm"}, {Name: "frontend"}, {Name: "clock"},
		{Name: "client_ip"}, {Name: "user_agent"}, {Name: "locale"}, {Name: "device"},
		{Name: "radius_client"}, {Name: "radius_policy"}, {Name: "nas_identifier"}, {Name: "calling_station_id"},
		{Name: "client"}, {Name: "scopes"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "step"}, {Type: "expect"}},
}

var stepSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "expect_node"}, {Name: "expect_prompt"}, {Name: "expect_callbacks"},
		{Name: "advance"}, {Name: "device"}, {Name: "answer"},
	},
}

var expectSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "outcome"}, {Name: "path"}, {Name: "user"}, {Name: "reason"}, {Name: "state"},
		{Name: "radius_attributes"}, {Name: "claims"}, {Name: "pushes"},
	},
}

// Parse decodes the scenario files of dir (see Find) into a Suite. The
// diagnostics carry file, line and column; a Suite is returned even with
// errors so the caller can print snippets from its Files. Check then
// compares it with the configuration.
func Parse(dir string, files []string) (*Suite, hcl.Diagnostics) {
	s := &Suite{Dir: dir, Files: map[string]*hcl.File{}}
	p := hclparse.NewParser()
	var diags hcl.Diagnostics
	seenUser := map[string]*User{}
	seenScenario := map[string]*Scenario{}
	for _, name := range files {
		var (
			f  *hcl.File
			ds hcl.Diagnostics
		)
		if strings.HasSuffix(name, ".json") {
			f, ds = p.ParseJSONFile(name)
		} else {
			f, ds = p.ParseHCLFile(name)
		}
		diags = append(diags, ds...)
		if f == nil {
			continue
		}
		s.Files[name] = f
		if ds.HasErrors() {
			continue
		}
		users, scs, ds := decodeFile(name, f)
		diags = append(diags, ds...)
		for _, u := range users {
			if prev := seenUser[u.Name]; prev != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Duplicate user",
					Detail:   fmt.Sprintf("The user %q is already declared at %s; fixtures are shared by every test file of the directory.", u.Name, lineOf(prev.DeclRange)),
					Subject:  u.DeclRange.Ptr(),
				})
				continue
			}
			seenUser[u.Name] = u
			s.Users = append(s.Users, u)
		}
		for _, sc := range scs {
			if prev := seenScenario[sc.Name]; prev != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Duplicate scenario",
					Detail:   fmt.Sprintf("A scenario named %q is already declared at %s; names identify scenarios in reports.", sc.Name, lineOf(prev.DeclRange)),
					Subject:  sc.NameRange.Ptr(),
				})
				continue
			}
			seenScenario[sc.Name] = sc
			s.Scenarios = append(s.Scenarios, sc)
		}
	}
	if len(files) == 0 {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No scenario files",
			Detail:   fmt.Sprintf("The directory %q holds no *%s files (beside the configuration or in %s/).", dir, dsl.TestFileSuffix, TestsDir),
		})
	}
	return s, diags
}

func lineOf(r hcl.Range) string { return fmt.Sprintf("%s:%d", r.Filename, r.Start.Line) }

func decodeFile(name string, f *hcl.File) ([]*User, []*Scenario, hcl.Diagnostics) {
	content, diags := dsl.Content(f.Body, rootSchema, "a scenario file")
	clock := DefaultClock
	if a := content.Attributes["clock"]; a != nil {
		if t, ok := timeAttr(a, &diags); ok {
			clock = t
		}
	}
	var users []*User
	var scs []*Scenario
	for _, b := range content.Blocks {
		switch b.Type {
		case "user":
			u, ds := decodeUser(b)
			diags = append(diags, ds...)
			users = append(users, u)
		case "scenario":
			sc, ds := decodeScenario(name, b, clock)
			diags = append(diags, ds...)
			scs = append(scs, sc)
		}
	}
	return users, scs, diags
}

func decodeUser(b *hcl.Block) (*User, hcl.Diagnostics) {
	u := &User{Name: b.Labels[0], DeclRange: b.DefRange}
	content, diags := dsl.Content(b.Body, userSchema, fmt.Sprintf("user %q", b.Labels[0]))
	for _, a := range inOrder(content.Attributes) {
		switch a.Name {
		case "realm":
			u.Realm, _ = strAttr(a, &diags)
			u.realmAt = a.Expr.Range()
		case "password":
			u.Password, _ = strAttr(a, &diags)
		case "groups":
			u.Groups, _ = strListAttr(a, &diags)
		case "email":
			u.Email, _ = strAttr(a, &diags)
		case "phone":
			u.Phone, _ = strAttr(a, &diags)
		case "attributes":
			u.Attributes, _ = strMapAttr(a, &diags)
		case "otp":
			v, ok := evalStatic(a, &diags)
			if !ok {
				break
			}
			switch {
			case v.Type() == cty.Bool:
				if v.True() {
					u.OTP = "totp"
				}
			case v.Type() == cty.String && (v.AsString() == "totp" || v.AsString() == "hotp"):
				u.OTP = v.AsString()
			default:
				diags = append(diags, attrError(a, "Invalid otp", `otp is true (a TOTP token), "totp" or "hotp".`))
			}
		case "push_device":
			u.PushDevice, _ = boolAttr(a, &diags)
		case "recovery_codes":
			n, ok := intAttr(a, &diags, 0, 50)
			if ok {
				u.RecoveryCodes = n
			}
		case "locked":
			u.Locked, _ = boolAttr(a, &diags)
		case "otp_secret":
			// The token store makes its own secrets and has no way to take
			// one (engine/mfa seals what it generates); until it has, a
			// fixture's codes come from otp("NAME").
			diags = append(diags, attrError(a, "otp_secret is not supported",
				`Fixture tokens get a fresh secret in every scenario: set otp = true and answer with otp("`+u.Name+`"), the code the token shows at the scenario's clock.`))
		}
	}
	return u, diags
}

func decodeScenario(file string, b *hcl.Block, clock time.Time) (*Scenario, hcl.Diagnostics) {
	sc := &Scenario{
		Name: b.Labels[0], File: file, Frontend: FrontendAPI, Clock: clock,
		DeclRange: b.DefRange, NameRange: b.LabelRanges[0], ranges: map[string]hcl.Range{},
	}
	content, diags := dsl.Content(b.Body, scenarioSchema, fmt.Sprintf("scenario %q", b.Labels[0]))
	for name, a := range content.Attributes {
		sc.ranges[name] = a.Expr.Range()
	}
	str := func(name string, into *string) {
		if a := content.Attributes[name]; a != nil {
			if v, ok := strAttr(a, &diags); ok {
				*into = v
			}
		}
	}
	str("journey", &sc.Journey)
	str("realm", &sc.Realm)
	str("frontend", &sc.Frontend)
	str("client_ip", &sc.ClientIP)
	str("user_agent", &sc.UserAgent)
	str("locale", &sc.Locale)
	str("radius_client", &sc.RADIUSClient)
	str("radius_policy", &sc.RADIUSPolicy)
	str("nas_identifier", &sc.NASIdentifier)
	str("calling_station_id", &sc.CallingStationID)
	str("client", &sc.Client)
	if a := content.Attributes["scopes"]; a != nil {
		sc.Scopes, _ = strListAttr(a, &diags)
	}
	if a := content.Attributes["clock"]; a != nil {
		if t, ok := timeAttr(a, &diags); ok {
			sc.Clock = t
		}
	}
	if a := content.Attributes["device"]; a != nil {
		if d, ok := deviceAttr(a, &diags); ok {
			sc.Device = d
		}
	}
	switch sc.Frontend {
	case FrontendAPI, FrontendRADIUS, FrontendOAuth:
	default:
		diags = append(diags, attrError(content.Attributes["frontend"], "Unknown front end",
			fmt.Sprintf("frontend is %q, %q or %q, not %q.", FrontendAPI, FrontendRADIUS, FrontendOAuth, sc.Frontend)))
	}
	for _, blk := range content.Blocks {
		switch blk.Type {
		case "step":
			st, ds := decodeStep(blk)
			diags = append(diags, ds...)
			st.Index = len(sc.Steps) + 1
			sc.Steps = append(sc.Steps, st)
		case "expect":
			if sc.Expect != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Duplicate expect block",
					Detail:   fmt.Sprintf("A scenario has one expect block; this one repeats the one at %s.", lineOf(sc.Expect.DeclRange)),
					Subject:  blk.DefRange.Ptr(),
				})
				continue
			}
			ex, ds := decodeExpect(blk)
			diags = append(diags, ds...)
			sc.Expect = ex
		}
	}
	return sc, diags
}

func decodeStep(b *hcl.Block) (*Step, hcl.Diagnostics) {
	st := &Step{DeclRange: b.DefRange, ranges: map[string]hcl.Range{}}
	content, diags := dsl.Content(b.Body, stepSchema, "step")
	for _, a := range inOrder(content.Attributes) {
		st.ranges[a.Name] = a.Expr.Range()
		switch a.Name {
		case "expect_node":
			st.ExpectNode, _ = strAttr(a, &diags)
		case "expect_prompt":
			st.ExpectPrompt, _ = strAttr(a, &diags)
		case "expect_callbacks":
			if l, ok := strListAttr(a, &diags); ok {
				st.ExpectCallbacks = append([]string{}, l...)
			}
		case "advance":
			s, ok := strAttr(a, &diags)
			if !ok {
				break
			}
			d, err := nodes.ParseDuration(s)
			if err != nil || d < 0 {
				diags = append(diags, attrError(a, "Invalid duration", fmt.Sprintf(`advance is a duration such as "30s", "5m" or "1d" (%v).`, err)))
				break
			}
			st.Advance = d
		case "device":
			if d, ok := deviceAttr(a, &diags); ok {
				st.Device = &d
			}
		case "answer":
			st.Answer = a.Expr
			diags = append(diags, checkAnswerExpr(a.Expr)...)
		}
	}
	return st, diags
}

func decodeExpect(b *hcl.Block) (*Expect, hcl.Diagnostics) {
	ex := &Expect{DeclRange: b.DefRange, ranges: map[string]hcl.Range{}}
	content, diags := dsl.Content(b.Body, expectSchema, "expect")
	for _, a := range inOrder(content.Attributes) {
		ex.ranges[a.Name] = a.Expr.Range()
		switch a.Name {
		case "outcome":
			s, ok := strAttr(a, &diags)
			if !ok {
				break
			}
			switch s {
			case "success", "failure", "suspended", OutcomeExpired:
				ex.Outcome = s
			default:
				diags = append(diags, attrError(a, "Unknown outcome", fmt.Sprintf(`outcome is "success", "failure", "suspended" (the journey still waits for an answer) or "expired" (the session timed out), not %q.`, s)))
			}
		case "path":
			if l, ok := strListAttr(a, &diags); ok {
				ex.Path, ex.HasPath = append([]string{}, l...), true
			}
		case "user":
			if s, ok := strAttr(a, &diags); ok {
				ex.User = &s
			}
		case "reason":
			ex.Reason, _ = strAttr(a, &diags)
		case "state":
			ex.State, _ = objectAttr(a, &diags)
		case "radius_attributes":
			ex.RADIUSAttributes, _ = objectAttr(a, &diags)
		case "claims":
			ex.Claims, _ = objectAttr(a, &diags)
		case "pushes":
			if n, ok := intAttr(a, &diags, 0, 1000); ok {
				ex.Pushes = &n
			}
		}
	}
	return ex, diags
}

// inOrder lists a body's attributes in source order, so diagnostics come
// out in the order a reader meets them.
func inOrder(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Range.Start.Byte < out[j].Range.Start.Byte })
	return out
}

// Attribute helpers. Values are static: fixtures and expectations may use
// the standard functions but no variables.

func attrError(a *hcl.Attribute, summary, detail string) *hcl.Diagnostic {
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail}
	if a != nil {
		d.Subject = a.Expr.Range().Ptr()
	}
	return d
}

var staticCtx = &hcl.EvalContext{Functions: staticFunctions()}

func evalStatic(a *hcl.Attribute, diags *hcl.Diagnostics) (cty.Value, bool) {
	v, ds := a.Expr.Value(staticCtx)
	*diags = append(*diags, ds...)
	if ds.HasErrors() {
		return cty.NilVal, false
	}
	if v.IsNull() || !v.IsWhollyKnown() {
		*diags = append(*diags, attrError(a, "Missing value", fmt.Sprintf("%s needs a value.", a.Name)))
		return cty.NilVal, false
	}
	v, _ = v.UnmarkDeep()
	return v, true
}

func convertAttr(a *hcl.Attribute, ty cty.Type, what string, diags *hcl.Diagnostics) (cty.Value, bool) {
	v, ok := evalStatic(a, diags)
	if !ok {
		return cty.NilVal, false
	}
	c, err := convert.Convert(v, ty)
	if err != nil || !c.IsWhollyKnown() {
		*diags = append(*diags, attrError(a, "Incorrect value type", fmt.Sprintf("%s must be %s.", a.Name, what)))
		return cty.NilVal, false
	}
	return c, true
}

func strAttr(a *hcl.Attribute, diags *hcl.Diagnostics) (string, bool) {
	v, ok := convertAttr(a, cty.String, "a string", diags)
	if !ok {
		return "", false
	}
	return v.AsString(), true
}

func boolAttr(a *hcl.Attribute, diags *hcl.Diagnostics) (bool, bool) {
	v, ok := convertAttr(a, cty.Bool, "true or false", diags)
	if !ok {
		return false, false
	}
	return v.True(), true
}

func intAttr(a *hcl.Attribute, diags *hcl.Diagnostics, lo, hi int) (int, bool) {
	v, ok := convertAttr(a, cty.Number, "a whole number", diags)
	if !ok {
		return 0, false
	}
	bf := v.AsBigFloat()
	i, acc := bf.Int64()
	if !bf.IsInt() || acc != 0 || i < int64(lo) || i > int64(hi) {
		*diags = append(*diags, attrError(a, "Number out of range", fmt.Sprintf("%s is a whole number from %d to %d.", a.Name, lo, hi)))
		return 0, false
	}
	return int(i), true
}

func strListAttr(a *hcl.Attribute, diags *hcl.Diagnostics) ([]string, bool) {
	v, ok := convertAttr(a, cty.List(cty.String), "a list of strings", diags)
	if !ok {
		return nil, false
	}
	out := []string{}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			*diags = append(*diags, attrError(a, "Null list element", fmt.Sprintf("%s may not contain null.", a.Name)))
			return nil, false
		}
		out = append(out, e.AsString())
	}
	return out, true
}

func strMapAttr(a *hcl.Attribute, diags *hcl.Diagnostics) (map[string]string, bool) {
	v, ok := convertAttr(a, cty.Map(cty.String), "an object of strings", diags)
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	for k, e := range v.AsValueMap() {
		if e.IsNull() {
			continue
		}
		out[k] = e.AsString()
	}
	return out, true
}

func objectAttr(a *hcl.Attribute, diags *hcl.Diagnostics) (map[string]cty.Value, bool) {
	v, ok := evalStatic(a, diags)
	if !ok {
		return nil, false
	}
	if !v.Type().IsObjectType() && !v.Type().IsMapType() {
		*diags = append(*diags, attrError(a, "Incorrect value type", fmt.Sprintf("%s is an object: { key = value }.", a.Name)))
		return nil, false
	}
	out := map[string]cty.Value{}
	for k, e := range v.AsValueMap() {
		out[k] = e
	}
	return out, true
}

func timeAttr(a *hcl.Attribute, diags *hcl.Diagnostics) (time.Time, bool) {
	s, ok := strAttr(a, diags)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		*diags = append(*diags, attrError(a, "Invalid time", fmt.Sprintf(`%s is an RFC 3339 time such as "2026-01-01T00:00:00Z".`, a.Name)))
		return time.Time{}, false
	}
	return t.UTC(), true
}

func deviceAttr(a *hcl.Attribute, diags *hcl.Diagnostics) (Device, bool) {
	s, ok := strAttr(a, diags)
	if !ok {
		return Device{}, false
	}
	d, err := ParseDevice(s)
	if err != nil {
		*diags = append(*diags, attrError(a, "Invalid device action", err.Error()+"."))
		return Device{}, false
	}
	return d, true
}

// checkAnswerExpr refuses variables (answers see none) and functions the
// runner does not provide, with the position of the offending call.
func checkAnswerExpr(expr hcl.Expression) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, t := range expr.Variables() {
		if t.RootName() == "qr" {
			continue
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown variable",
			Detail:   fmt.Sprintf("Answers may use the variable qr (the URI of a QR code being shown) and the functions %s, but not %q.", strings.Join(answerFunctionNames, ", "), t.RootName()),
			Subject:  t.SourceRange().Ptr(),
		})
	}
	syn, ok := expr.(hclsyntax.Expression)
	if !ok {
		return diags
	}
	known := answerFunctionSet()
	_ = hclsyntax.VisitAll(syn, func(n hclsyntax.Node) hcl.Diagnostics {
		if call, ok := n.(*hclsyntax.FunctionCallExpr); ok && !known[call.Name] {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unknown function",
				Detail:   fmt.Sprintf("There is no function %q in answers; scenario functions are %s (and the standard ones such as upper, join).", call.Name, strings.Join(answerFunctionNames, ", ")),
				Subject:  call.NameRange.Ptr(),
			})
		}
		return nil
	})
	return diags
}
