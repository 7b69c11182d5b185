package dsl

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/authd/authd/engine"
)

var journeySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "realm", Required: true},
		{Name: "description"},
		{Name: "start", Required: true},
		{Name: "session_timeout"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "node", LabelNames: []string{"type", "name"}}},
}

// nodeMetaSchema holds the meta-arguments every node takes; the rest of
// the body belongs to the node type's settings.
var nodeMetaSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "next"}, {Name: "outcomes"}},
}

// journeyCall is a node's settings naming another journey (inner_journey).
type journeyCall struct {
	from   string
	target string
	node   *Node
	rng    hcl.Range
}

// journeyState is what decoding learnt about a journey beyond its
// exported fields, for the graph checks.
type journeyState struct {
	realmRef ref
	// broken is set when a node could not be decoded: the graph checks
	// would only repeat that error in other words.
	broken bool
}

// decodeJourneyBlock decodes a journey and its nodes, building each node
// through its registered type and resolving the edges between them.
func decodeJourneyBlock(l *loader, block *hcl.Block) (*Journey, hcl.Diagnostics) {
	j := &Journey{
		Name:           block.Labels[0],
		SessionTimeout: engine.DefaultSessionTimeout,
		DeclRange:      block.DefRange,
		byName:         map[string]*Node{},
		srcRange:       blockRange(block),
	}
	content, diags := decodeContent(block.Body, journeySchema, blockTitle(block))
	if content == nil {
		j.state.broken = true
		return j, diags
	}
	if a := content.Attributes["realm"]; a != nil {
		r, d := parseRef(a.Expr, kindRealm, "realm", false)
		diags = append(diags, d...)
		j.state.realmRef = r
		j.Realm = r.name
	}
	if a := content.Attributes["description"]; a != nil {
		v, ok, d := l.str(a)
		diags = append(diags, d...)
		if ok {
			j.Description = v
		}
	}
	if a := content.Attributes["session_timeout"]; a != nil {
		v, ok, d := l.duration(a, false)
		diags = append(diags, d...)
		if ok {
			j.SessionTimeout = v
		}
	}

	// Nodes, then the edges between them.
	for _, b := range content.Blocks {
		n, d := decodeNodeBlock(l, j, b)
		diags = append(diags, d...)
		if n == nil {
			continue
		}
		j.Nodes = append(j.Nodes, n)
	}
	var startRef ref
	if a := content.Attributes["start"]; a != nil {
		r, d := parseRef(a.Expr, kindNode, "start", false)
		diags = append(diags, d...)
		startRef = r
		j.startRange = a.Expr.Range()
		if r.name == "" {
			j.state.broken = true
		}
	} else {
		j.state.broken = true
	}
	if startRef.name != "" {
		if _, ok := j.byName[startRef.name]; ok {
			j.Start = startRef.name
		} else {
			j.state.broken = true
			diags = append(diags, undeclared(startRef, j.nodeNames(), fmt.Sprintf(" in journey %q", j.Name)))
		}
	}
	for _, n := range j.Nodes {
		for _, e := range n.edgeRefs {
			o, r := e.outcome, e.target
			switch {
			case r.kind == terminalRef:
				n.Edges[o] = r.name
			case j.byName[r.name] != nil:
				n.Edges[o] = r.name
			default:
				j.state.broken = true
				diags = append(diags, undeclared(r, j.nodeNames(), fmt.Sprintf(" in journey %q", j.Name)))
			}
		}
	}

	// Shared state: every key some node writes, then the runtime
	// expressions that read it.
	keys := map[string]bool{}
	for _, n := range j.Nodes {
		for _, k := range n.stateKeys {
			keys[k] = true
		}
	}
	stateKeys := sortedKeys(keys)
	sc := &scope{
		what:      "node settings",
		roots:     nodeRoots,
		stateKeys: keys,
		stateList: stateKeys,
		journey:   j.Name,
	}
	attrKeys := map[string]bool{}
	for _, n := range j.Nodes {
		for _, e := range n.exprs {
			_, d := l.checkRuntimeExpr(e, sc)
			diags = append(diags, d...)
			collectAttributeKeys(e, attrKeys)
		}
	}

	compiled := &engine.Journey{
		Name:           j.Name,
		Realm:          j.Realm,
		Description:    j.Description,
		Start:          j.Start,
		Nodes:          make(map[string]*engine.CompiledNode, len(j.Nodes)),
		SessionTimeout: j.SessionTimeout,
		StateKeys:      stateKeys,
		AttributeKeys:  sortedKeys(attrKeys),
	}
	for _, n := range j.Nodes {
		if j.byName[n.Name] != n {
			continue
		}
		compiled.Nodes[n.Name] = &engine.CompiledNode{Name: n.Name, Type: n.Type, Node: n.impl, Edges: n.Edges}
	}
	j.Compiled = compiled
	return j, diags
}

func (j *Journey) nodeNames() []string {
	names := make([]string, 0, len(j.byName))
	for n := range j.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func sortedOutcomes[V any](m map[engine.Outcome]V) []engine.Outcome {
	out := make([]engine.Outcome, 0, len(m))
	for o := range m {
		out = append(out, o)
	}
	sort.Slice(out, func(i, k int) bool { return out[i] < out[k] })
	return out
}

// decodeNodeBlock decodes one node: meta-arguments with PartialContent,
// the rest with gohcl into the type's settings struct, then the type's
// outcomes for those settings and the node itself.
func decodeNodeBlock(l *loader, j *Journey, b *hcl.Block) (*Node, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	typeName, name := b.Labels[0], b.Labels[1]
	n := &Node{
		Name:      name,
		Type:      typeName,
		DeclRange: b.DefRange,
		typeRange: b.LabelRanges[0],
		Edges:     make(map[engine.Outcome]string, 4),
	}
	nameRange := b.LabelRanges[1]

	// The name: a valid identifier, not a terminal, unique in the journey.
	switch {
	case engine.IsTerminal(name):
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Reserved node name",
			Detail:   fmt.Sprintf("%q is a terminal of every journey, so no node may take its name; choose another, like %q.", name, name+"_page"),
			Subject:  nameRange.Ptr(),
		})
	case !validIdentifier(name):
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid node name",
			Detail:   fmt.Sprintf("A node name must start with a letter or underscore and hold only letters, digits, underscores and dashes, so it can be referenced as node.NAME; %q cannot.", name),
			Subject:  nameRange.Ptr(),
		})
	}
	if prev, dup := j.byName[name]; dup {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Duplicate node",
			Detail:   fmt.Sprintf("Journey %q already has a node named %q, declared at %s.", j.Name, name, prev.DeclRange),
			Subject:  nameRange.Ptr(),
		})
		j.state.broken = true
	} else if !engine.IsTerminal(name) {
		j.byName[name] = n
	}

	t, ok := engine.LookupNodeType(typeName)
	if !ok {
		j.state.broken = true
		meta, remain, d := b.Body.PartialContent(nodeMetaSchema)
		diags = append(diags, d...)
		n.body = remain
		detail := fmt.Sprintf("There is no node type named %q.", typeName)
		names := nodeTypeNames()
		if s := nameSuggestion(typeName, names); s != "" {
			detail += fmt.Sprintf(" Did you mean %q?", s)
		} else {
			detail += " The node types are " + listWords(names) + "."
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown node type",
			Detail:   detail,
			Subject:  n.typeRange.Ptr(),
		})
		// Still check where its edges lead, for their own mistakes.
		diags = append(diags, n.decodeEdges(meta, nil, false)...)
		return n, diags
	}
	n.typ = t

	// The settings struct, fresh, with its defaults; ReferenceSettings on
	// it names the settings that are references to other blocks.
	var cfg any
	if t.Config != nil {
		var perr *hcl.Diagnostic
		cfg, perr = callConfig(t, n.DeclRange)
		if perr != nil {
			j.state.broken = true
			return n, append(diags, perr)
		}
	}
	refSettings := referenceSettings(cfg)

	// Settings and meta-arguments in one pass where the type allows (see
	// settingsPlan), else meta-arguments by PartialContent and the rest by
	// gohcl.
	plan := planFor(cfg)
	var meta *hcl.BodyContent
	if plan != nil {
		n.body = b.Body
	} else {
		meta2, remain, d := b.Body.PartialContent(nodeMetaSchema)
		meta = meta2
		diags = append(diags, d...)
		n.body = remain
	}

	// References to other blocks in the settings (journey.x,
	// identity_provider.y): check them here with did-you-mean, and
	// remember which journeys the node enters.
	flagged, badRefs, d := l.checkSettingRefs(j, n, refSettings)
	diags = append(diags, d...)

	d = decodeSettings(l, n, t, plan, cfg, &meta)
	n.Settings = cfg
	d = filterSettingDiags(d, flagged, n.body)
	diags = append(diags, d...)
	if d.HasErrors() {
		j.state.broken = true
		diags = append(diags, n.decodeEdges(meta, nil, false)...)
		return n, diags
	}
	n.exprs = runtimeExprs(n.Settings, refSettings)

	var perr *hcl.Diagnostic
	n.Outcomes, perr = callOutcomes(t, n.Settings, n.DeclRange)
	if perr != nil {
		j.state.broken = true
		return n, append(diags, perr)
	}
	impl, err, perr := callNew(t, n.Settings, n.DeclRange)
	switch {
	case perr != nil:
		j.state.broken = true
		diags = append(diags, perr)
	case err != nil:
		for _, d := range settingDiags(n, err, hcl.DiagError) {
			// A reference setting already reported by dsl itself.
			if d.Subject != nil && badRefs[rangeKey(*d.Subject)] {
				continue
			}
			diags = append(diags, d)
		}
	default:
		n.impl = impl
		n.built = true
	}
	if t.Warnings != nil {
		ws, perr := callWarnings(t, n.Settings, n.DeclRange)
		if perr != nil {
			diags = append(diags, perr)
		}
		for _, w := range ws {
			if w == nil {
				continue
			}
			diags = append(diags, settingDiag(n, w, hcl.DiagWarning))
		}
	}
	if t.StateKeys != nil {
		keys, perr := callStateKeys(t, n.Settings, n.DeclRange)
		if perr != nil {
			diags = append(diags, perr)
		}
		n.stateKeys = keys
	}
	ed := n.decodeEdges(meta, n.Outcomes, true)
	for _, d := range ed {
		// A mistyped edge would make the graph checks report its
		// consequences too; an edge merely missing would not.
		if d.Severity == hcl.DiagError && !strings.HasPrefix(d.Summary, "Unwired") {
			j.state.broken = true
		}
	}
	diags = append(diags, ed...)
	return n, diags
}

// decodeEdges reads next or outcomes. With check set it also checks the
// edges against the outcomes the settings produce; without it (unknown
// type, broken settings) it only parses the targets.
func (n *Node) decodeEdges(meta *hcl.BodyContent, outcomes []engine.Outcome, check bool) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if meta == nil {
		return nil
	}
	next := meta.Attributes["next"]
	outs := meta.Attributes["outcomes"]
	if next != nil && outs != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Both next and outcomes",
			Detail:   fmt.Sprintf("The node %q sets both next and outcomes. Use next for a node with a single outcome, or outcomes = { ... } to wire each outcome, not both.", n.Name),
			Subject:  next.NameRange.Ptr(),
		}}
	}
	switch {
	case next != nil:
		n.wiredRange = next.Expr.Range()
		r, d := parseRef(next.Expr, kindNode, "next", true)
		diags = append(diags, d...)
		if check && len(outcomes) != 1 {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "next on a node with several outcomes",
				Detail: fmt.Sprintf("The node %q (%s) can end with %s, so next cannot say which to follow. Wire each one with outcomes = { %s }.",
					n.Name, n.Type, listWords(outcomeStrings(outcomes)), outcomeTemplate(outcomes)),
				Subject: next.NameRange.Ptr(),
			})
			return diags
		}
		if r.name != "" && len(outcomes) == 1 {
			n.edgeRefs = append(n.edgeRefs, edgeRef{outcomes[0], r})
		}
		if !check && r.name != "" {
			n.edgeRefs = append(n.edgeRefs, edgeRef{"next", r})
		}
	case outs != nil:
		n.wiredRange = outs.Expr.Range()
		pairs, d := hcl.ExprMap(outs.Expr)
		if d.HasErrors() {
			return append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid outcomes",
				Detail:   "outcomes must be an object that maps each outcome to a node or terminal, like { success = node.next_step, failure = failure }.",
				Subject:  outs.Expr.Range().Ptr(),
			})
		}
		type seenKey struct {
			o   engine.Outcome
			rng hcl.Range
		}
		seen := make([]seenKey, 0, len(pairs))
		for _, p := range pairs {
			key := hcl.ExprAsKeyword(p.Key)
			if key == "" {
				if s, ok := staticString(p.Key); ok {
					key = s
				}
			}
			if key == "" {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid outcome name",
					Detail:   "Each key of outcomes must be an outcome name, like success or \"not_enrolled\".",
					Subject:  p.Key.Range().Ptr(),
				})
				continue
			}
			o := engine.Outcome(key)
			dup := false
			for _, s := range seen {
				if s.o == o {
					dup = true
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Duplicate outcome",
						Detail:   fmt.Sprintf("The outcome %q is wired twice; the first is at line %d.", key, s.rng.Start.Line),
						Subject:  p.Key.Range().Ptr(),
					})
				}
			}
			if dup {
				continue
			}
			seen = append(seen, seenKey{o, p.Key.Range()})
			r, d := parseRef(p.Value, kindNode, "The outcome "+key, true)
			diags = append(diags, d...)
			if check && !hasOutcome(outcomes, o) {
				diags = append(diags, n.explainOutcome(o, p.Key.Range()))
				continue
			}
			if r.name != "" {
				n.edgeRefs = append(n.edgeRefs, edgeRef{o, r})
			}
		}
	}
	if !check {
		return diags
	}
	var unwired []engine.Outcome
	for _, o := range outcomes {
		if !n.wired(o) {
			unwired = append(unwired, o)
		}
	}
	if len(unwired) > 0 && (next == nil || len(outcomes) == 1) && !diags.HasErrors() {
		subject := n.wiredRange
		if next == nil && outs == nil {
			subject = n.DeclRange
		}
		summary, which := "Unwired outcome", fmt.Sprintf("the outcome %q, which is", unwired[0])
		if len(unwired) > 1 {
			summary, which = "Unwired outcomes", "the outcomes "+quoteList(outcomeStrings(unwired))+", which are"
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  summary,
			Detail: fmt.Sprintf("The node %q (%s) can end with %s not wired to a node or terminal. With these settings its outcomes are %s; wire each to node.NAME, success or failure.",
				n.Name, n.Type, which, listWords(outcomeStrings(outcomes))),
			Subject: subject.Ptr(),
		})
	}
	return diags
}

func outcomeStrings(os []engine.Outcome) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = string(o)
	}
	return out
}

func outcomeTemplate(os []engine.Outcome) string {
	parts := make([]string, len(os))
	for i, o := range os {
		parts[i] = string(o) + " = ..."
	}
	return strings.Join(parts, ", ")
}

// explainOutcome says why o is not an outcome of the node: a boolean
// setting that removes or would add it (found by flipping each boolean
// setting and asking the type again), or that the type has no such
// outcome at all.
func (n *Node) explainOutcome(o engine.Outcome, rng hcl.Range) *hcl.Diagnostic {
	produced := outcomeStrings(n.Outcomes)
	if setting, cur, ok := n.settingFor(o); ok {
		detail := fmt.Sprintf("The node %q (%s) produces %q only with %s = %t, and here %s = %t",
			n.Name, n.Type, o, setting, !cur, setting, cur)
		if settingExpr(n.body, setting) == nil {
			detail += " (the default)"
		}
		detail += fmt.Sprintf(". With these settings its outcomes are %s; remove this edge or change %s.", listWords(produced), setting)
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Outcome not produced by these settings",
			Detail:   detail,
			Subject:  rng.Ptr(),
		}
	}
	detail := fmt.Sprintf("The node %q (%s) has no outcome %q; with these settings its outcomes are %s.", n.Name, n.Type, o, listWords(produced))
	if s := nameSuggestion(string(o), produced); s != "" {
		detail += fmt.Sprintf(" Did you mean %q?", s)
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Unknown outcome",
		Detail:   detail,
		Subject:  rng.Ptr(),
	}
}

// settingFor finds a boolean setting whose other value makes the type
// produce o.
func (n *Node) settingFor(o engine.Outcome) (string, bool, bool) {
	v := reflect.ValueOf(n.Settings)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return "", false, false
	}
	st := v.Elem().Type()
	for i := 0; i < st.NumField(); i++ {
		f := st.Field(i)
		name, kind := hclTag(f)
		if name == "" || (kind != "attr" && kind != "optional") || !f.IsExported() {
			continue
		}
		isPtr := f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Bool
		if f.Type.Kind() != reflect.Bool && !isPtr {
			continue
		}
		cp := reflect.New(st)
		cp.Elem().Set(v.Elem())
		fv := cp.Elem().Field(i)
		var cur bool
		if isPtr {
			if !fv.IsNil() {
				cur = fv.Elem().Bool()
			}
			nb := !cur
			fv.Set(reflect.ValueOf(&nb))
		} else {
			cur = fv.Bool()
			fv.SetBool(!cur)
		}
		outs, perr := callOutcomes(n.typ, cp.Interface(), n.DeclRange)
		if perr != nil {
			continue
		}
		for _, x := range outs {
			if x == o {
				return name, cur, true
			}
		}
	}
	return "", false, false
}

// hclTag splits a gohcl struct tag into its name and kind ("attr" when
// none is given).
func hclTag(f reflect.StructField) (string, string) {
	tag, ok := f.Tag.Lookup("hcl")
	if !ok {
		return "", ""
	}
	name, kind, _ := strings.Cut(tag, ",")
	if kind == "" {
		kind = "attr"
	}
	return name, kind
}

// decodeSettings decodes the node body into the type's settings struct,
// by its plan or with gohcl, and sets *meta to the meta-arguments when the
// plan read them. A settings struct that cannot be decoded is a bug in
// the node type, reported as a diagnostic rather than a panic.
func decodeSettings(l *loader, n *Node, t *engine.NodeType, plan *settingsPlan, cfg any, meta **hcl.BodyContent) (diags hcl.Diagnostics) {
	defer func() {
		if r := recover(); r != nil {
			diags = append(diags, internalError(t.Name, "decoding its settings", r, n.DeclRange))
		}
	}()
	l.missing = l.missing[:0]
	owner := fmt.Sprintf("node %q %q", n.Type, n.Name)
	switch {
	case plan != nil:
		*meta, diags = plan.decode(n.body, l.nodeCtx, cfg)
		diags = hintUnknown(diags, plan.schema, *meta, owner)
	case cfg != nil:
		diags = gohcl.DecodeBody(n.body, l.nodeCtx, cfg)
		// next and outcomes were read beforehand, so hcl leaves them out
		// of its suggestions.
		schema, _ := gohcl.ImpliedBodySchema(cfg)
		schema.Attributes = append(schema.Attributes, metaAttrs...)
		diags = hintUnknown(diags, schema, *meta, owner)
	default:
		_, diags = decodeContent(n.body, &hcl.BodySchema{}, owner)
	}
	if len(l.missing) > 0 {
		diags = append(diags, l.flushMissing(bodyExprs(n.body)...)...)
	}
	return diags
}

func callConfig(t *engine.NodeType, rng hcl.Range) (cfg any, perr *hcl.Diagnostic) {
	defer func() {
		if r := recover(); r != nil {
			cfg, perr = nil, internalError(t.Name, "creating its settings", r, rng)
		}
	}()
	cfg = t.Config()
	if cfg != nil {
		if v := reflect.ValueOf(cfg); v.Kind() != reflect.Pointer || v.IsNil() {
			return nil, internalError(t.Name, "creating its settings", fmt.Sprintf("Config returned %T, not a pointer", cfg), rng)
		}
	}
	return cfg, nil
}

// referenceSettings asks a settings struct which of its settings name
// other blocks (inner_journey's journey = journey.x). Node types declare
// them with a method, so dsl needs no list of its own:
//
//	ReferenceSettings() map[string]string // setting -> block kind
func referenceSettings(cfg any) map[string]string {
	rs, ok := cfg.(interface{ ReferenceSettings() map[string]string })
	if !ok {
		return nil
	}
	var out map[string]string
	func() {
		defer func() { _ = recover() }()
		out = rs.ReferenceSettings()
	}()
	return out
}

func rangeKey(r hcl.Range) string {
	return fmt.Sprintf("%s:%d-%d", r.Filename, r.Start.Byte, r.End.Byte)
}

// filterSettingDiags drops gohcl's "Unsupported attribute" for a block
// reference already reported with a did-you-mean, and explains why
// runtime variables cannot appear in a configuration-time setting.
func filterSettingDiags(diags hcl.Diagnostics, flagged []hcl.Range, body hcl.Body) hcl.Diagnostics {
	out := diags[:0:0]
	for _, d := range diags {
		if d.Subject != nil && d.Severity == hcl.DiagError {
			skip := false
			for _, r := range flagged {
				if r.Filename == d.Subject.Filename && d.Subject.Start.Byte >= r.Start.Byte && d.Subject.Start.Byte <= r.End.Byte {
					skip = true
					break
				}
			}
			if skip {
				continue
			}
			if d.Summary == "Unsuitable value type" {
				c := *d
				c.Summary = "Incorrect attribute value type"
				msg := strings.TrimPrefix(d.Detail, "Unsuitable value: ")
				if name := attrNameAt(body, *d.Subject); name != "" {
					c.Detail = fmt.Sprintf("Inappropriate value for setting %q: %s.", name, msg)
				} else {
					c.Detail = fmt.Sprintf("Inappropriate value: %s.", msg)
				}
				d = &c
			}
			if d.Summary == "Unknown variable" {
				for _, v := range []string{"user", "request", "state", "now"} {
					if strings.Contains(d.Detail, fmt.Sprintf("named %q", v)) {
						c := *d
						c.Summary = "Runtime variable in a fixed setting"
						c.Detail = fmt.Sprintf("This setting is read once, when the configuration loads, so it cannot use %s, which exists only while a journey runs.", v)
						d = &c
						break
					}
				}
			}
		}
		out = append(out, d)
	}
	return out
}

// checkSettingRefs checks KIND.NAME references inside a node's settings
// and records the journeys the node enters. Settings the type declares as
// references (ReferenceSettings) must be exactly one reference of their
// kind; elsewhere any KIND.NAME is checked (a string setting receives the
// name). It returns the ranges it reported, so gohcl's cruder error for
// the same spot can be dropped, and the reference settings it found
// invalid, whose SettingError from New would only repeat it.
func (l *loader) checkSettingRefs(j *Journey, n *Node, refSettings map[string]string) ([]hcl.Range, map[string]bool, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	var flagged []hcl.Range
	bad := map[string]bool{}
	var skip []hcl.Range
	for _, setting := range sortedKeys(refSettings) {
		kind := refSettings[setting]
		expr := settingExpr(n.body, setting)
		if expr == nil {
			continue // gohcl reports a missing required setting
		}
		skip = append(skip, expr.Range())
		r, d := parseRef(expr, kind, setting, false)
		if r.name != "" {
			d = append(d, l.resolve(r)...)
		}
		diags = append(diags, d...)
		if d.HasErrors() {
			flagged = append(flagged, expr.Range())
			bad[rangeKey(expr.Range())] = true
			continue
		}
		if kind == kindJourney {
			j.calls = append(j.calls, journeyCall{from: j.Name, target: r.name, node: n, rng: r.rng})
		}
	}
	for _, tr := range bodyTraversals(n.body) {
		root := tr.RootName()
		switch root {
		case kindRealm, kindJourney, kindPushProvider, kindSMSGateway, kindIdentityProvider, kindRADIUSClient, kindRelyingParty, kindProtectedResource:
		default:
			continue
		}
		if len(tr) < 2 || inRanges(tr.SourceRange(), skip) {
			continue
		}
		step, ok := tr[1].(hcl.TraverseAttr)
		if !ok {
			continue
		}
		r := ref{kind: root, name: step.Name, rng: tr.SourceRange()}
		if d := l.resolve(r); len(d) > 0 {
			diags = append(diags, d...)
			flagged = append(flagged, r.rng)
			continue
		}
		if root == kindJourney {
			j.calls = append(j.calls, journeyCall{from: j.Name, target: step.Name, node: n, rng: r.rng})
		}
	}
	return flagged, bad, diags
}

func inRanges(r hcl.Range, rs []hcl.Range) bool {
	for _, x := range rs {
		if x.Filename == r.Filename && r.Start.Byte >= x.Start.Byte && r.End.Byte <= x.End.Byte {
			return true
		}
	}
	return false
}

// settingExpr finds a top-level setting's expression in a node body.
func settingExpr(body hcl.Body, name string) hcl.Expression {
	if body == nil {
		return nil
	}
	if sb, ok := body.(*hclsyntax.Body); ok {
		if a, ok := sb.Attributes[name]; ok {
			return a.Expr
		}
		return nil
	}
	content, _, _ := body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: name}}})
	if content != nil {
		if a := content.Attributes[name]; a != nil {
			return a.Expr
		}
	}
	return nil
}

// bodyTraversals lists every variable reference in a body's attributes,
// nested blocks included, except the node meta-arguments.
func bodyTraversals(body hcl.Body) []hcl.Traversal {
	var out []hcl.Traversal
	for _, e := range bodyExprs(body) {
		out = append(out, e.Variables()...)
	}
	return out
}

// bodyExprs lists the expressions of a body's attributes in source order.
func bodyExprs(body hcl.Body) []hcl.Expression {
	if body == nil {
		return nil
	}
	var out []hcl.Expression
	if sb, ok := body.(*hclsyntax.Body); ok {
		var walk func(b *hclsyntax.Body, top bool)
		walk = func(b *hclsyntax.Body, top bool) {
			attrs := make([]*hclsyntax.Attribute, 0, len(b.Attributes))
			for name, a := range b.Attributes {
				if top && (name == "next" || name == "outcomes") {
					continue
				}
				attrs = append(attrs, a)
			}
			sort.Slice(attrs, func(i, k int) bool { return attrs[i].SrcRange.Start.Byte < attrs[k].SrcRange.Start.Byte })
			for _, a := range attrs {
				out = append(out, a.Expr)
			}
			for _, blk := range b.Blocks {
				walk(blk.Body, false)
			}
		}
		walk(sb, true)
		return out
	}
	attrs, _ := body.JustAttributes()
	names := sortedKeys(attrs)
	for _, name := range names {
		out = append(out, attrs[name].Expr)
	}
	return out
}

// runtimeExprs collects the hcl.Expression fields of a settings struct
// (nested structs, pointers and slices included): the runtime
// expressions whose references validate checks.
func runtimeExprs(cfg any, refSettings map[string]string) []hcl.Expression {
	var out []hcl.Expression
	exprType := reflect.TypeOf((*hcl.Expression)(nil)).Elem()
	var walk func(v reflect.Value, depth int)
	walk = func(v reflect.Value, depth int) {
		if depth > 8 || !v.IsValid() {
			return
		}
		if v.Type() == exprType {
			if !v.IsNil() {
				if e, ok := v.Interface().(hcl.Expression); ok {
					out = append(out, e)
				}
			}
			return
		}
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem(), depth+1)
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				f := v.Type().Field(i)
				if !f.IsExported() {
					continue
				}
				if name, _ := hclTag(f); depth <= 1 && refSettings[name] != "" {
					continue // a reference, checked by checkSettingRefs
				}
				walk(v.Field(i), depth+1)
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), depth+1)
			}
		case reflect.Map:
			it := v.MapRange()
			for it.Next() {
				walk(it.Value(), depth+1)
			}
		}
	}
	walk(reflect.ValueOf(cfg), 0)
	return out
}

// settingDiags turns an error from NodeType.New into diagnostics at the
// settings at fault.
func settingDiags(n *Node, err error, sev hcl.DiagnosticSeverity) hcl.Diagnostics {
	switch e := err.(type) {
	case *engine.SettingError:
		return hcl.Diagnostics{settingDiag(n, e, sev)}
	case engine.SettingErrors:
		var diags hcl.Diagnostics
		for _, se := range e {
			if se != nil {
				diags = append(diags, settingDiag(n, se, sev))
			}
		}
		if len(diags) > 0 {
			return diags
		}
	}
	return hcl.Diagnostics{{
		Severity: sev,
		Summary:  "Invalid node settings",
		Detail:   fmt.Sprintf("The node %q (%s) cannot be built: %s.", n.Name, n.Type, strings.TrimSuffix(err.Error(), ".")),
		Subject:  n.DeclRange.Ptr(),
	}}
}

func settingDiag(n *Node, e *engine.SettingError, sev hcl.DiagnosticSeverity) *hcl.Diagnostic {
	if e.Warning {
		sev = hcl.DiagWarning
	}
	rng := n.DeclRange
	if r, ok := settingRange(n.body, e.Setting); ok {
		rng = r
	}
	summary := "Invalid node setting"
	if sev == hcl.DiagWarning {
		summary = "Questionable node setting"
	}
	msg := strings.TrimSuffix(e.Message, ".")
	detail := fmt.Sprintf("The node %q (%s): %s.", n.Name, n.Type, msg)
	if e.Setting != "" {
		detail = fmt.Sprintf("The setting %s of node %q (%s): %s.", e.Setting, n.Name, n.Type, msg)
	}
	return &hcl.Diagnostic{Severity: sev, Summary: summary, Detail: detail, Subject: rng.Ptr()}
}

// settingRange finds the value of a setting ("limit", or "lockout.window"
// for a nested block) in a node body.
func settingRange(body hcl.Body, setting string) (hcl.Range, bool) {
	if setting == "" || body == nil {
		return hcl.Range{}, false
	}
	parts := strings.Split(setting, ".")
	if sb, ok := body.(*hclsyntax.Body); ok {
		cur := sb
		for i, p := range parts {
			if a, ok := cur.Attributes[p]; ok {
				return a.Expr.Range(), true
			}
			var next *hclsyntax.Block
			for _, blk := range cur.Blocks {
				if blk.Type == p {
					next = blk
					break
				}
			}
			if next == nil {
				return hcl.Range{}, false
			}
			if i == len(parts)-1 {
				return next.DefRange(), true
			}
			cur = next.Body
		}
		return hcl.Range{}, false
	}
	content, _, _ := body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: parts[0]}}})
	if content != nil {
		if a := content.Attributes[parts[0]]; a != nil {
			return a.Expr.Range(), true
		}
	}
	return hcl.Range{}, false
}

func nodeTypeNames() []string {
	ts := engine.NodeTypes()
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name
	}
	return names
}

// internalError reports a panic inside a node type's code: a bug in authd,
// never the user's, but still a diagnostic rather than a crash.
func internalError(typ, doing string, r any, rng hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Internal error in node type " + typ,
		Detail:   fmt.Sprintf("The node type %q failed while %s (%v). This is a bug in authd; please report it with this configuration.", typ, doing, r),
		Subject:  rng.Ptr(),
	}
}

func callOutcomes(t *engine.NodeType, cfg any, rng hcl.Range) (out []engine.Outcome, perr *hcl.Diagnostic) {
	defer func() {
		if r := recover(); r != nil {
			out, perr = nil, internalError(t.Name, "listing its outcomes", r, rng)
		}
	}()
	return t.Outcomes(cfg), nil
}

func callNew(t *engine.NodeType, cfg any, rng hcl.Range) (n engine.Node, err error, perr *hcl.Diagnostic) {
	defer func() {
		if r := recover(); r != nil {
			n, err, perr = nil, nil, internalError(t.Name, "building the node", r, rng)
		}
	}()
	n, err = t.New(cfg)
	return n, err, nil
}

func callWarnings(t *engine.NodeType, cfg any, rng hcl.Range) (out []*engine.SettingError, perr *hcl.Diagnostic) {
	defer func() {
		if r := recover(); r != nil {
			out, perr = nil, internalError(t.Name, "checking its settings", r, rng)
		}
	}()
	return t.Warnings(cfg), nil
}

func callStateKeys(t *engine.NodeType, cfg any, rng hcl.Range) (out []string, perr *hcl.Diagnostic) {
	defer func() {
		if r := recover(); r != nil {
			out, perr = nil, internalError(t.Name, "listing its state keys", r, rng)
		}
	}()
	return t.StateKeys(cfg), nil
}

func callProvides(t *engine.NodeType, cfg any, o engine.Outcome) (out []engine.Fact) {
	if t.Provides == nil {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			out = nil
		}
	}()
	return t.Provides(cfg, o)
}

// attrNameAt names the setting whose value holds rng.
func attrNameAt(body hcl.Body, rng hcl.Range) string {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return ""
	}
	var found string
	var walk func(b *hclsyntax.Body, prefix string)
	walk = func(b *hclsyntax.Body, prefix string) {
		for name, a := range b.Attributes {
			r := a.Expr.Range()
			if r.Filename == rng.Filename && rng.Start.Byte >= r.Start.Byte && rng.Start.Byte <= r.End.Byte {
				found = prefix + name
			}
		}
		for _, blk := range b.Blocks {
			walk(blk.Body, prefix+blk.Type+".")
		}
	}
	walk(sb, "")
	return found
}

func (n *Node) wired(o engine.Outcome) bool {
	for _, e := range n.edgeRefs {
		if e.outcome == o {
			return true
		}
	}
	return false
}

func hasOutcome(os []engine.Outcome, o engine.Outcome) bool {
	for _, x := range os {
		if x == o {
			return true
		}
	}
	return false
}

// collectAttributeKeys records the keys of user.attributes["k"] an
// expression reads, so the engine can read a missing attribute as "".
func collectAttributeKeys(e hcl.Expression, into map[string]bool) {
	for _, t := range e.Variables() {
		if len(t) < 3 || t.RootName() != "user" {
			continue
		}
		if a, ok := t[1].(hcl.TraverseAttr); !ok || a.Name != "attributes" {
			continue
		}
		if ix, ok := t[2].(hcl.TraverseIndex); ok && ix.Key.Type() == cty.String && ix.Key.IsKnown() && !ix.Key.IsNull() {
			into[ix.Key.AsString()] = true
		}
	}
}
