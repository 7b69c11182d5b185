// Package diff compares two configurations by meaning rather than text:
// which journeys, nodes and edges were added, removed or rewired, which
// settings of which blocks changed, and which changes weaken security
// (MFA no longer on every path to success, PKCE relaxed, a token lifetime
// raised, a secret made literal, ...). `authd diff` prints its report as
// text or as Markdown for a pull-request comment, with a Mermaid picture
// of each changed journey.
//
// Both configurations are loaded by dsl first, so formatting, comments,
// file layout and block order (except radius_policy order, which decides
// which policy wins) are no change at all.
package diff

import (
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
)

// Change says what happened to a block, node or edge.
type Change string

// Changes.
const (
	Added   Change = "added"
	Removed Change = "removed"
	Changed Change = "changed"
	Rewired Change = "rewired" // an edge whose outcome now leads elsewhere
)

// Line is one setting that differs: its key and both texts ("(unset)"
// when absent on one side).
type Line struct {
	Key, Old, New string
}

// Section is one block that differs.
type Section struct {
	Kind   string // the block kind: journey, relying_party, radius_client, ...
	Name   string // "" for server, and for the order of radius policies
	Change Change
	Lines  []Line
	// Journey is the graph-level difference of a journey section.
	Journey *JourneyDiff
}

// Title is the block as the configuration writes it: journey "vpn".
func (s *Section) Title() string {
	if s.Name == "" {
		if s.Kind == "radius_policy" {
			return "radius_policy order"
		}
		return s.Kind
	}
	return s.Kind + ` "` + s.Name + `"`
}

// JourneyDiff is what changed in a journey's graph.
type JourneyDiff struct {
	Nodes []NodeChange
	Edges []EdgeChange
	// Old and New are the two versions (nil when added or removed).
	Old, New *dsl.Journey
}

// NodeChange is a node added, removed, or changed (type or settings).
type NodeChange struct {
	Name, Type string
	OldType    string // set when the type changed
	Change     Change
	Lines      []Line
}

// EdgeChange is an outcome edge added, removed or rewired.
type EdgeChange struct {
	Node, Outcome string
	Old, New      string // targets; "" when absent on that side
	Change        Change
}

// Warning is a change that weakens security, said in one sentence.
type Warning struct {
	Subject string // the block, as Section.Title writes it
	Message string
	// Path, for MFA warnings, is a path to success that passes no second
	// factor: "login --next--> check --locked--> success".
	Path string
}

// Report is the whole difference.
type Report struct {
	Sections []*Section
	Warnings []Warning
}

// Empty reports whether nothing of meaning changed.
func (r *Report) Empty() bool { return len(r.Sections) == 0 && len(r.Warnings) == 0 }

// Compare diffs two loaded configurations. Either may be nil, standing for
// an empty configuration (a directory that did not exist at a revision).
func Compare(old, new *dsl.Config) *Report {
	old, new = orEmpty(old), orEmpty(new)
	r := &Report{}
	c := &comparer{old: old, new: new, r: r}
	c.single("server", old.Server, new.Server)
	c.blocks("realm", toAny(old.Realms), toAny(new.Realms))
	c.journeys()
	c.blocks("relying_party", toAny(old.RelyingParties), toAny(new.RelyingParties))
	c.blocks("radius_client", toAny(old.RADIUSClients), toAny(new.RADIUSClients))
	c.policies()
	c.blocks("push_provider", toAny(old.PushProviders), toAny(new.PushProviders))
	c.blocks("sms_gateway", toAny(old.SMSGateways), toAny(new.SMSGateways))
	c.blocks("protected_resource", toAny(old.ProtectedResources), toAny(new.ProtectedResources))
	c.blocks("identity_provider", toAny(old.IdentityProviders), toAny(new.IdentityProviders))
	c.blocks("api_client", apiClientViews(old.APIClients), apiClientViews(new.APIClients))
	c.warnings()
	c.apiClientWarnings()
	return r
}

func orEmpty(c *dsl.Config) *dsl.Config {
	if c != nil {
		return c
	}
	return &dsl.Config{Program: &engine.Program{}, Files: map[string]*hcl.File{}}
}

func toAny[T any](m map[string]*T) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

type comparer struct {
	old, new *dsl.Config
	r        *Report
}

func (c *comparer) add(s *Section) { c.r.Sections = append(c.r.Sections, s) }

func (c *comparer) single(kind string, old, new any) {
	if lines := compare(flatten(old, c.old.Files), flatten(new, c.new.Files)); len(lines) > 0 {
		c.add(&Section{Kind: kind, Change: Changed, Lines: lines})
	}
}

// blocks diffs one kind of named block.
func (c *comparer) blocks(kind string, old, new map[string]any) {
	names := map[string]bool{}
	for n := range old {
		names[n] = true
	}
	for n := range new {
		names[n] = true
	}
	for _, n := range sortedKeys(names) {
		o, inOld := old[n]
		nw, inNew := new[n]
		switch {
		case !inOld:
			c.add(&Section{Kind: kind, Name: n, Change: Added, Lines: compare(settings{}, flatten(nw, c.new.Files))})
		case !inNew:
			c.add(&Section{Kind: kind, Name: n, Change: Removed})
		default:
			if lines := compare(flatten(o, c.old.Files), flatten(nw, c.new.Files)); len(lines) > 0 {
				c.add(&Section{Kind: kind, Name: n, Change: Changed, Lines: lines})
			}
		}
	}
}

// policies diffs radius policies by name, and their order, since the
// first matching policy wins.
func (c *comparer) policies() {
	old, new := map[string]any{}, map[string]any{}
	var oldOrder, newOrder []string
	for _, p := range c.old.RADIUSPolicies {
		old[p.Name] = p
		oldOrder = append(oldOrder, p.Name)
	}
	for _, p := range c.new.RADIUSPolicies {
		new[p.Name] = p
		newOrder = append(newOrder, p.Name)
	}
	c.blocks("radius_policy", old, new)
	common := func(order []string, other map[string]any) []string {
		var out []string
		for _, n := range order {
			if other[n] != nil {
				out = append(out, n)
			}
		}
		return out
	}
	o, n := common(oldOrder, new), common(newOrder, old)
	if strings.Join(o, ",") != strings.Join(n, ",") {
		c.add(&Section{Kind: "radius_policy", Change: Changed, Lines: []Line{{Key: "order (first match wins)", Old: strings.Join(o, ", "), New: strings.Join(n, ", ")}}})
	}
}

// journeys diffs journeys as graphs: attributes, then nodes by name, then
// edges by (node, outcome).
func (c *comparer) journeys() {
	names := map[string]bool{}
	for n := range c.old.Journeys {
		names[n] = true
	}
	for n := range c.new.Journeys {
		names[n] = true
	}
	for _, name := range sortedKeys(names) {
		o, n := c.old.Journeys[name], c.new.Journeys[name]
		jd := &JourneyDiff{Old: o, New: n}
		s := &Section{Kind: "journey", Name: name, Journey: jd}
		switch {
		case o == nil:
			s.Change = Added
		case n == nil:
			s.Change = Removed
		default:
			s.Change = Changed
		}
		s.Lines = compare(journeyAttrs(o, c.old.Files), journeyAttrs(n, c.new.Files))
		oldNodes, newNodes := nodeMap(o), nodeMap(n)
		for _, nn := range nodeOrder(o, n) {
			on, nw := oldNodes[nn], newNodes[nn]
			switch {
			case on == nil:
				jd.Nodes = append(jd.Nodes, NodeChange{Name: nn, Type: nw.Type, Change: Added})
			case nw == nil:
				jd.Nodes = append(jd.Nodes, NodeChange{Name: nn, Type: on.Type, Change: Removed})
			case on.Type != nw.Type:
				jd.Nodes = append(jd.Nodes, NodeChange{Name: nn, Type: nw.Type, OldType: on.Type, Change: Changed,
					Lines: compare(flatten(on.Settings, c.old.Files), flatten(nw.Settings, c.new.Files))})
			default:
				if lines := compare(flatten(on.Settings, c.old.Files), flatten(nw.Settings, c.new.Files)); len(lines) > 0 {
					jd.Nodes = append(jd.Nodes, NodeChange{Name: nn, Type: nw.Type, Change: Changed, Lines: lines})
				}
			}
			jd.Edges = append(jd.Edges, edgeChanges(nn, on, nw)...)
		}
		if s.Change == Changed && len(s.Lines) == 0 && len(jd.Nodes) == 0 && len(jd.Edges) == 0 {
			continue
		}
		c.add(s)
	}
}

func journeyAttrs(j *dsl.Journey, files map[string]*hcl.File) settings {
	s := settings{vals: map[string]string{}}
	if j == nil {
		return s
	}
	s.vals["realm"] = j.Realm
	s.vals["start"] = j.Start
	if j.Description != "" {
		s.vals["description"] = scalarQuote(j.Description)
	}
	if j.SessionTimeout != 0 {
		s.vals["session_timeout"] = durationText(j.SessionTimeout)
	}
	return s
}

func scalarQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

func nodeMap(j *dsl.Journey) map[string]*dsl.Node {
	m := map[string]*dsl.Node{}
	if j != nil {
		for _, n := range j.Nodes {
			if m[n.Name] == nil {
				m[n.Name] = n
			}
		}
	}
	return m
}

// nodeOrder is the new journey's source order, then the removed nodes in
// the old one's.
func nodeOrder(old, new *dsl.Journey) []string {
	seen := map[string]bool{}
	var out []string
	for _, j := range []*dsl.Journey{new, old} {
		if j == nil {
			continue
		}
		for _, n := range j.Nodes {
			if !seen[n.Name] {
				seen[n.Name] = true
				out = append(out, n.Name)
			}
		}
	}
	return out
}

func edgeChanges(name string, old, new *dsl.Node) []EdgeChange {
	var oe, ne map[engine.Outcome]string
	var order []engine.Outcome
	if old != nil {
		oe = old.Edges
		order = append(order, outcomes(old)...)
	}
	if new != nil {
		ne = new.Edges
		order = append(outcomes(new), order...)
	}
	seen := map[engine.Outcome]bool{}
	var out []EdgeChange
	for _, o := range order {
		if seen[o] {
			continue
		}
		seen[o] = true
		ot, inOld := oe[o]
		nt, inNew := ne[o]
		switch {
		case inOld && inNew && ot != nt:
			out = append(out, EdgeChange{Node: name, Outcome: string(o), Old: ot, New: nt, Change: Rewired})
		case inOld && !inNew:
			out = append(out, EdgeChange{Node: name, Outcome: string(o), Old: ot, Change: Removed})
		case !inOld && inNew:
			out = append(out, EdgeChange{Node: name, Outcome: string(o), New: nt, Change: Added})
		}
	}
	return out
}

// outcomes are a node's wired outcomes in its type's order, then any
// others sorted.
func outcomes(n *dsl.Node) []engine.Outcome {
	seen := map[engine.Outcome]bool{}
	var out []engine.Outcome
	for _, o := range n.Outcomes {
		if _, ok := n.Edges[o]; ok && !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	var rest []string
	for o := range n.Edges {
		if !seen[o] {
			rest = append(rest, string(o))
		}
	}
	sort.Strings(rest)
	for _, o := range rest {
		out = append(out, engine.Outcome(o))
	}
	return out
}
