package dsl

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"

	"github.com/authd/authd/engine"
)

// rootSchema lists the top-level blocks. api_client is authd's own design
// (the spec has none): see docs/api.md.
var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "server"},
		{Type: kindRealm, LabelNames: []string{"name"}},
		{Type: kindJourney, LabelNames: []string{"name"}},
		{Type: kindPushProvider, LabelNames: []string{"type", "name"}},
		{Type: kindSMSGateway, LabelNames: []string{"type", "name"}},
		{Type: kindRADIUSClient, LabelNames: []string{"name"}},
		{Type: kindRADIUSPolicy, LabelNames: []string{"name"}},
		{Type: kindRelyingParty, LabelNames: []string{"name"}},
		{Type: kindProtectedResource, LabelNames: []string{"name"}},
		{Type: kindIdentityProvider, LabelNames: []string{"type", "name"}},
		{Type: kindAPIClient, LabelNames: []string{"name"}},
	},
}

// TestFileSuffix ends the names of `authd test` scenario files. They may
// sit beside the configuration they test, so Load skips them when it reads
// a directory.
const TestFileSuffix = ".authtest.hcl"

// IsTestFile reports whether a file name is an `authd test` scenario file
// (*.authtest.hcl, or its JSON form), which is not configuration.
func IsTestFile(name string) bool {
	return strings.HasSuffix(name, TestFileSuffix) || strings.HasSuffix(name, TestFileSuffix+".json")
}

// Load reads the configuration: every *.hcl and *.hcl.json file of each
// directory (not recursing; *.authtest.hcl scenario files are skipped), or
// the named files, merged as one. file() paths resolve against the
// directory of the file that calls it.
func Load(paths []string, opts Options) (*Config, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	sources := map[string][]byte{}
	bases := map[string]string{}
	var order []string
	add := func(name string) {
		if _, dup := sources[name]; dup {
			return
		}
		b, err := os.ReadFile(name)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cannot read configuration file",
				Detail:   fmt.Sprintf("The file %q cannot be read: %s.", name, pathErr(err)),
			})
			return
		}
		sources[name] = b
		bases[name] = filepath.Dir(name)
		order = append(order, name)
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Configuration not found",
				Detail:   fmt.Sprintf("The path %q does not exist or cannot be read: %s.", p, pathErr(err)),
			})
			continue
		}
		if !st.IsDir() {
			add(p)
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cannot read configuration directory",
				Detail:   fmt.Sprintf("The directory %q cannot be read: %s.", p, pathErr(err)),
			})
			continue
		}
		n := 0
		for _, e := range ents {
			name := e.Name()
			if e.IsDir() || strings.HasPrefix(name, ".") || !(strings.HasSuffix(name, ".hcl") || strings.HasSuffix(name, ".hcl.json")) || IsTestFile(name) {
				continue
			}
			add(filepath.Join(p, name))
			n++
		}
		if n == 0 {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "No configuration files",
				Detail:   fmt.Sprintf("The directory %q holds no *.hcl or *.hcl.json files.", p),
			})
		}
	}
	if len(paths) == 0 {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No configuration given",
			Detail:   "Name at least one configuration directory or file.",
		})
	}
	cfg, more := load(sources, bases, opts)
	return cfg, append(diags, more...)
}

// LoadSources loads in-memory files (name -> content), for the embedded
// quick start and for fuzzing; like a directory, *.authtest.hcl files are
// skipped. file() resolves against baseDir; with ""
// it is refused, so an embedded configuration cannot read the disk.
func LoadSources(files map[string][]byte, baseDir string, opts Options) (*Config, hcl.Diagnostics) {
	bases := make(map[string]string, len(files))
	config := make(map[string][]byte, len(files))
	for name, b := range files {
		if IsTestFile(name) {
			continue // a set of files is read like a directory
		}
		config[name] = b
		bases[name] = baseDir
	}
	return load(config, bases, opts)
}

// loader carries one load's state through its phases.
type loader struct {
	opts      Options
	lookupEnv func(string) (string, bool)

	sources    map[string][]byte
	bases      map[string]string
	order      []string // file names, sorted
	files      map[string]*hcl.File
	curBase    string
	redactions map[string][]hcl.Range

	ctx     *hcl.EvalContext // configuration-time, secret-marking
	nodeCtx *hcl.EvalContext // node settings: unmarked, block names as variables
	missing []missingSource
	// secretFiles are the paths file() was asked for.
	secretFiles map[string]bool

	decls     map[string]map[string]hcl.Range // kind -> name -> DeclRange
	nameCache map[string][]string

	cfg *Config
	// per-block extras kept for the link and check phases
	realmRefs   map[string]*realmLinks
	rpRefs      map[string]*rpLinks
	policyRefs  map[*RADIUSPolicy]*policyLinks
	prRefs      map[string]ref
	clientAddrs map[string]hcl.Range
	clientTO    map[string]hcl.Range
	journeys    []*Journey // in file order
	// apiClientRefs are the journeys api_clients name, for linking.
	apiClientRefs []ref

	graphs       map[*Journey]*graph
	successFacts map[*Journey]factSet
	recursive    map[string]bool // journeys on an inner_journey cycle
	facts        map[engine.Fact]factSet
	factNames    []engine.Fact
}

func load(sources map[string][]byte, bases map[string]string, opts Options) (*Config, hcl.Diagnostics) {
	l := &loader{
		opts:        opts,
		lookupEnv:   opts.LookupEnv,
		sources:     sources,
		bases:       bases,
		files:       map[string]*hcl.File{},
		redactions:  map[string][]hcl.Range{},
		secretFiles: map[string]bool{},
		decls:       map[string]map[string]hcl.Range{},
		realmRefs:   map[string]*realmLinks{},
		rpRefs:      map[string]*rpLinks{},
		policyRefs:  map[*RADIUSPolicy]*policyLinks{},
		prRefs:      map[string]ref{},
		clientAddrs: map[string]hcl.Range{},
		clientTO:    map[string]hcl.Range{},
	}
	if l.lookupEnv == nil {
		l.lookupEnv = os.LookupEnv
	}
	for name := range sources {
		l.order = append(l.order, name)
	}
	sort.Strings(l.order)
	l.cfg = &Config{
		Program: &engine.Program{
			Realms:   map[string]*engine.Realm{},
			Journeys: map[string]*engine.Journey{},
		},
		Server:             defaultServer(),
		Realms:             map[string]*Realm{},
		Journeys:           map[string]*Journey{},
		RelyingParties:     map[string]*RelyingParty{},
		RADIUSClients:      map[string]*RADIUSClient{},
		PushProviders:      map[string]*PushProvider{},
		SMSGateways:        map[string]*SMSGateway{},
		ProtectedResources: map[string]*ProtectedResource{},
		IdentityProviders:  map[string]*IdentityProvider{},
		APIClients:         map[string]*APIClient{},
		Files:              l.files,
	}
	diags := l.run()
	l.cfg.Files = l.redactedFiles()
	l.cfg.SecretFiles = sortedKeys(l.secretFiles)
	diags = finish(diags, opts.Strict)
	return l.cfg, diags
}

type fileBlocks struct {
	name   string
	blocks hcl.Blocks
}

func (l *loader) run() hcl.Diagnostics {
	var diags hcl.Diagnostics
	// Phase 1: parse.
	var parsed []fileBlocks
	for _, name := range l.order {
		src := l.sources[name]
		var f *hcl.File
		var d hcl.Diagnostics
		if strings.HasSuffix(name, ".json") {
			f, d = hcljson.Parse(src, name)
		} else {
			f, d = hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		}
		diags = append(diags, d...)
		if f == nil {
			continue
		}
		l.files[name] = f
		if f.Body == nil {
			continue
		}
		content, d := decodeContent(f.Body, rootSchema, "a configuration file")
		diags = append(diags, d...)
		if content != nil {
			parsed = append(parsed, fileBlocks{name: name, blocks: content.Blocks})
		}
	}

	// A file that does not parse would only add confusing follow-on
	// errors (its blocks half-read, references into it unresolved):
	// report the syntax errors alone.
	if diags.HasErrors() {
		return diags
	}

	// Phase 2: declare every block name, so decoding can resolve and
	// suggest references regardless of file order.
	var serverBlock *hcl.Block
	for _, fb := range parsed {
		for _, b := range fb.blocks {
			if b.Type == "server" {
				if serverBlock != nil {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Duplicate server block",
						Detail:   fmt.Sprintf("The configuration may hold only one server block; the first is at %s.", serverBlock.DefRange),
						Subject:  b.DefRange.Ptr(),
					})
				} else {
					serverBlock = b
				}
				continue
			}
			diags = append(diags, l.declare(b)...)
		}
	}

	l.ctx = &hcl.EvalContext{Functions: l.configFunctions(true)}
	l.nodeCtx = &hcl.EvalContext{Functions: l.configFunctions(false), Variables: l.blockNameVariables()}

	// Phase 3: decode each block.
	for _, fb := range parsed {
		l.curBase = l.bases[fb.name]
		for _, b := range fb.blocks {
			diags = append(diags, l.decodeTopBlock(b, b == serverBlock)...)
		}
	}
	l.curBase = ""

	// Phase 4: link references and run the checks across blocks.
	diags = append(diags, l.linkRealms()...)
	diags = append(diags, l.linkJourneys()...)
	diags = append(diags, l.linkRelyingParties()...)
	diags = append(diags, l.linkPolicies()...)
	diags = append(diags, l.linkProtectedResources()...)
	diags = append(diags, l.linkAPIClients()...)
	diags = append(diags, l.checkRADIUSClients()...)
	diags = append(diags, l.checkGraphs()...)
	diags = append(diags, l.checkFrontends()...)
	diags = append(diags, l.checkPublicStarts()...)
	diags = append(diags, l.checkIdentityProviderScopes()...)

	// Phase 5: the program.
	l.cfg.Program.Revision = l.revision()
	for _, j := range l.journeys {
		if j.Compiled != nil && l.cfg.Journeys[j.Name] == j {
			l.cfg.Program.Journeys[j.Name] = j.Compiled
		}
	}
	l.journeyRevisions()
	return diags
}

// declare records a block's name and reports duplicates and names that
// cannot be referenced.
func (l *loader) declare(b *hcl.Block) hcl.Diagnostics {
	if len(b.Labels) == 0 {
		return nil
	}
	name := b.Labels[len(b.Labels)-1]
	nameRange := b.LabelRanges[len(b.LabelRanges)-1]
	var diags hcl.Diagnostics
	if !validIdentifier(name) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid " + b.Type + " name",
			Detail:   fmt.Sprintf("A %s name must start with a letter or underscore and hold only letters, digits, underscores and dashes, so it can be referenced as %s.NAME; %q cannot.", b.Type, b.Type, name),
			Subject:  nameRange.Ptr(),
		})
	}
	m := l.decls[b.Type]
	if m == nil {
		m = map[string]hcl.Range{}
		l.decls[b.Type] = m
	}
	if prev, dup := m[name]; dup {
		return append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Duplicate " + b.Type,
			Detail:   fmt.Sprintf("A %s named %q was already declared at %s. Names must be unique among %s blocks, across all files.", b.Type, name, prev, b.Type),
			Subject:  nameRange.Ptr(),
		})
	}
	m[name] = b.DefRange
	return diags
}

// isFirst reports whether b is the declaration that owns its name (a
// duplicate is decoded for its diagnostics but not kept).
func (l *loader) isFirst(b *hcl.Block) bool {
	name := b.Labels[len(b.Labels)-1]
	r, ok := l.decls[b.Type][name]
	return ok && r == b.DefRange
}

func (l *loader) decodeTopBlock(b *hcl.Block, isServer bool) hcl.Diagnostics {
	var diags hcl.Diagnostics
	switch b.Type {
	case "server":
		s, d := decodeServerBlock(l, b)
		diags = d
		if isServer && s != nil {
			l.cfg.Server = *s
		}
	case kindRealm:
		r, d := decodeRealmBlock(l, b)
		diags = d
		if r != nil && l.isFirst(b) {
			l.cfg.Realms[r.Name] = r
			l.cfg.Program.Realms[r.Name] = r.Realm
		}
	case kindJourney:
		j, d := decodeJourneyBlock(l, b)
		diags = d
		if j != nil {
			l.journeys = append(l.journeys, j)
			if l.isFirst(b) {
				l.cfg.Journeys[j.Name] = j
			}
		}
	case kindPushProvider:
		p, d := decodePushProviderBlock(l, b)
		diags = d
		if p != nil && l.isFirst(b) {
			l.cfg.PushProviders[p.Name] = p
		}
	case kindSMSGateway:
		g, d := decodeSMSGatewayBlock(l, b)
		diags = d
		if g != nil && l.isFirst(b) {
			l.cfg.SMSGateways[g.Name] = g
		}
	case kindRADIUSClient:
		c, d := decodeRADIUSClientBlock(l, b)
		diags = d
		if c != nil && l.isFirst(b) {
			l.cfg.RADIUSClients[c.Name] = c
		}
	case kindRADIUSPolicy:
		p, d := decodeRADIUSPolicyBlock(l, b)
		diags = d
		if p != nil && l.isFirst(b) {
			l.cfg.RADIUSPolicies = append(l.cfg.RADIUSPolicies, p)
		}
	case kindRelyingParty:
		rp, d := decodeRelyingPartyBlock(l, b)
		diags = d
		if rp != nil && l.isFirst(b) {
			l.cfg.RelyingParties[rp.Name] = rp
		}
	case kindProtectedResource:
		pr, d := decodeProtectedResourceBlock(l, b)
		diags = d
		if pr != nil && l.isFirst(b) {
			l.cfg.ProtectedResources[pr.Name] = pr
		}
	case kindIdentityProvider:
		idp, d := decodeIdentityProviderBlock(l, b)
		diags = d
		if idp != nil && l.isFirst(b) {
			l.cfg.IdentityProviders[idp.Name] = idp
		}
	case kindAPIClient:
		c, d := decodeAPIClientBlock(l, b)
		diags = d
		if c != nil && l.isFirst(b) {
			l.cfg.APIClients[c.Name] = c
		}
	}
	return diags
}

// blockNameVariables lets node settings name other blocks: in a node body
// `journey = journey.mfa` evaluates to the string "mfa", so node types
// take plain string settings and dsl checks the reference.
func (l *loader) blockNameVariables() map[string]cty.Value {
	vars := map[string]cty.Value{}
	for _, kind := range []string{kindRealm, kindJourney, kindPushProvider, kindSMSGateway, kindIdentityProvider, kindRADIUSClient, kindRelyingParty, kindProtectedResource} {
		names := l.decls[kind]
		m := make(map[string]cty.Value, len(names))
		for n := range names {
			m[n] = cty.StringVal(n)
		}
		vars[kind] = cty.ObjectVal(m)
	}
	return vars
}

// revision hashes every source in name order: the same files give the
// same revision on every machine.
func (l *loader) revision() string {
	h := sha256.New()
	var n [8]byte
	for _, name := range l.order {
		binary.BigEndian.PutUint64(n[:], uint64(len(name)))
		h.Write(n[:])
		h.Write([]byte(name))
		binary.BigEndian.PutUint64(n[:], uint64(len(l.sources[name])))
		h.Write(n[:])
		h.Write(l.sources[name])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// redactedFiles returns the parsed files with secrets masked: the values
// of secret attributes found by redactSource, which holds for a file that
// does not parse, and the literal secrets decoding masked (l.redact),
// which also covers what a lexical scan cannot see (a header whose name
// is computed, say).
func (l *loader) redactedFiles() map[string]*hcl.File {
	out := redactFiles(l.files)
	for name, f := range out {
		rs := l.redactions[name]
		if len(rs) == 0 || f == nil {
			continue
		}
		m := &masker{src: f.Bytes}
		for _, r := range rs {
			m.mask(r.Start.Byte, r.End.Byte)
		}
		if m.out != nil {
			nf := *f
			nf.Bytes = m.out
			out[name] = &nf
		}
	}
	return out
}

// finish orders diagnostics by position, drops exact duplicates, masks
// URL credentials in their text (whichever check, or hcl itself, quoted
// a value) and, in strict mode, turns warnings into errors (but those
// about this machine, environmental, and advisory ones).
func finish(diags hcl.Diagnostics, strict bool) hcl.Diagnostics {
	type key struct {
		sev             hcl.DiagnosticSeverity
		summary, detail string
		file            string
		start, end      int
	}
	seen := map[key]bool{}
	out := diags[:0:0]
	for _, d := range diags {
		if d == nil {
			continue
		}
		k := key{sev: d.Severity, summary: d.Summary, detail: d.Detail}
		if d.Subject != nil {
			k.file, k.start, k.end = d.Subject.Filename, d.Subject.Start.Byte, d.Subject.End.Byte
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		d = maskDiagnostic(d)
		_, env := d.Extra.(environmental)
		_, adv := d.Extra.(advisory)
		if strict && d.Severity == hcl.DiagWarning && !env && !adv {
			c := *d
			c.Severity = hcl.DiagError
			d = &c
		}
		out = append(out, d)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.Subject == nil) != (b.Subject == nil) {
			return a.Subject == nil
		}
		if a.Subject != nil {
			if a.Subject.Filename != b.Subject.Filename {
				return a.Subject.Filename < b.Subject.Filename
			}
			if a.Subject.Start.Byte != b.Subject.Start.Byte {
				return a.Subject.Start.Byte < b.Subject.Start.Byte
			}
		}
		return a.Severity == hcl.DiagError && b.Severity != hcl.DiagError
	})
	return out
}
