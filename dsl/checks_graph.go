package dsl

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/authd/authd/engine"
)

// factSet is a set of engine.Facts as bits; indices are assigned per load.
type factSet uint64

const allFacts = ^factSet(0)

// linkJourneys resolves each journey's realm and the journeys its nodes
// enter, which must belong to the same realm (a session has one realm).
func (l *loader) linkJourneys() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, j := range l.journeys {
		diags = append(diags, l.resolve(j.state.realmRef)...)
		for _, c := range j.calls {
			t := l.cfg.Journeys[c.target]
			if t == nil || t.Realm == "" || j.Realm == "" || t.Realm == j.Realm {
				continue
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Journey of another realm",
				Detail:   fmt.Sprintf("The node %q of journey %q (realm %q) enters journey %q, which belongs to realm %q; a session stays in one realm.", c.node.Name, j.Name, j.Realm, t.Name, t.Realm),
				Subject:  c.rng.Ptr(),
			})
		}
	}
	return diags
}

// graph is a journey as index-based adjacency, built once per journey so
// every check is linear in its size.
type graph struct {
	j     *Journey
	nodes []*Node // source order, duplicates left out
	index map[string]int
	start int
	edges [][]gedge
	prov  [][]factSet // facts each edge establishes, filled by dataflow
}

type gedge struct {
	outcome engine.Outcome
	to      int // node index, or toSuccess / toFailure
}

const (
	toSuccess = -1
	toFailure = -2
)

func newGraph(j *Journey) *graph {
	g := &graph{j: j, index: make(map[string]int, len(j.Nodes)), start: -1}
	for _, n := range j.Nodes {
		if j.byName[n.Name] == n {
			g.index[n.Name] = len(g.nodes)
			g.nodes = append(g.nodes, n)
		}
	}
	g.edges = make([][]gedge, len(g.nodes))
	for i, n := range g.nodes {
		for _, o := range n.Outcomes {
			target, ok := n.Edges[o]
			if !ok {
				continue
			}
			switch target {
			case string(engine.Success):
				g.edges[i] = append(g.edges[i], gedge{o, toSuccess})
			case string(engine.Failure):
				g.edges[i] = append(g.edges[i], gedge{o, toFailure})
			default:
				if t, ok := g.index[target]; ok {
					g.edges[i] = append(g.edges[i], gedge{o, t})
				}
			}
		}
	}
	if s, ok := g.index[j.Start]; ok {
		g.start = s
	}
	return g
}

// checkGraphs runs the per-journey graph checks (reachability, a path to
// success, runaway loops, facts required along every path) and the
// inner-journey recursion check.
func (l *loader) checkGraphs() hcl.Diagnostics {
	var diags hcl.Diagnostics
	diags = append(diags, l.checkRecursion()...)
	l.graphs = map[*Journey]*graph{}
	l.successFacts = map[*Journey]factSet{}
	for _, j := range l.journeys {
		if j.state.broken || l.cfg.Journeys[j.Name] != j {
			continue
		}
		g := newGraph(j)
		if g.start < 0 {
			continue
		}
		l.graphs[j] = g
		diags = append(diags, g.checkReachable()...)
		diags = append(diags, g.checkLoops()...)
	}
	diags = append(diags, l.checkDataflow()...)
	return diags
}

// checkReachable warns about nodes no path from start reaches and fails a
// journey that cannot succeed.
func (g *graph) checkReachable() hcl.Diagnostics {
	var diags hcl.Diagnostics
	seen := make([]bool, len(g.nodes))
	queue := []int{g.start}
	seen[g.start] = true
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, e := range g.edges[i] {
			if e.to >= 0 && !seen[e.to] {
				seen[e.to] = true
				queue = append(queue, e.to)
			}
		}
	}
	for i, n := range g.nodes {
		if !seen[i] {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Unreachable node",
				Detail:   fmt.Sprintf("No path from the start of journey %q (node.%s) leads to the node %q, so it never runs. Wire an outcome to it, or remove it.", g.j.Name, g.j.Start, n.Name),
				Subject:  n.DeclRange.Ptr(),
			})
		}
	}
	// Nodes that can reach success, walking edges backwards.
	rev := make([][]int, len(g.nodes))
	var toSucc []int
	for i, es := range g.edges {
		for _, e := range es {
			switch {
			case e.to >= 0:
				rev[e.to] = append(rev[e.to], i)
			case e.to == toSuccess:
				toSucc = append(toSucc, i)
			}
		}
	}
	can := make([]bool, len(g.nodes))
	queue = queue[:0]
	for _, i := range toSucc {
		if !can[i] {
			can[i] = true
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, p := range rev[i] {
			if !can[p] {
				can[p] = true
				queue = append(queue, p)
			}
		}
	}
	if !can[g.start] {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No path to success",
			Detail:   fmt.Sprintf("No path from the start of journey %q leads to success, so every login through it fails. Wire some outcome to success.", g.j.Name),
			Subject:  g.j.DeclRange.Ptr(),
		})
	}
	return diags
}

// checkLoops finds cycles made only of nodes that never suspend: a session
// entering one would spin without asking anything or waiting. It uses
// Tarjan's strongly connected components over the non-interactive nodes.
func (g *graph) checkLoops() hcl.Diagnostics {
	n := len(g.nodes)
	inter := make([]bool, n)
	for i, nd := range g.nodes {
		inter[i] = nd.typ != nil && nd.typ.Interactive
	}
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	var sccs [][]int
	counter := 0
	var strong func(v int)
	strong = func(v int) {
		index[v], low[v] = counter, counter
		counter++
		stack = append(stack, v)
		onStack[v] = true
		for _, e := range g.edges[v] {
			w := e.to
			if w < 0 || inter[w] {
				continue
			}
			if index[w] < 0 {
				strong(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var comp []int
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			sccs = append(sccs, comp)
		}
	}
	for i := 0; i < n; i++ {
		if !inter[i] && index[i] < 0 {
			strong(i)
		}
	}
	var diags hcl.Diagnostics
	for _, comp := range sccs {
		in := make(map[int]bool, len(comp))
		for _, v := range comp {
			in[v] = true
		}
		first := comp[0]
		for _, v := range comp {
			if v < first {
				first = v
			}
		}
		if len(comp) == 1 {
			self := false
			for _, e := range g.edges[first] {
				if e.to == first {
					self = true
				}
			}
			if !self {
				continue
			}
		}
		cycle := g.cycleThrough(first, in)
		names := make([]string, len(cycle))
		for i, v := range cycle {
			names[i] = "node." + g.nodes[v].Name
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Loop without input",
			Detail: fmt.Sprintf("In journey %q, %s form a loop that passes no node waiting for input or time, so a session could spin in it forever. Put a node that asks the user or waits on the loop, or leave it.",
				g.j.Name, strings.Join(names, " → ")),
			Subject: g.nodes[first].DeclRange.Ptr(),
		})
	}
	return diags
}

// cycleThrough finds a shortest cycle from v back to v inside the set in,
// following edges in outcome order, and returns it with v at both ends.
func (g *graph) cycleThrough(v int, in map[int]bool) []int {
	parent := map[int]int{}
	queue := []int{v}
	visited := map[int]bool{}
	for len(queue) > 0 {
		x := queue[0]
		queue = queue[1:]
		for _, e := range g.edges[x] {
			if e.to < 0 || !in[e.to] {
				continue
			}
			if e.to == v {
				path := []int{v}
				for c := x; c != v; c = parent[c] {
					path = append(path, c)
				}
				// path is v, x, parent(x), ...: reverse the tail.
				tail := path[1:]
				for i, k := 0, len(tail)-1; i < k; i, k = i+1, k-1 {
					tail[i], tail[k] = tail[k], tail[i]
				}
				return append(path, v)
			}
			if !visited[e.to] {
				visited[e.to] = true
				parent[e.to] = x
				queue = append(queue, e.to)
			}
		}
	}
	return []int{v, v}
}

// checkRecursion reports journeys that enter themselves through inner
// journeys, directly or through others.
func (l *loader) checkRecursion() hcl.Diagnostics {
	var diags hcl.Diagnostics
	l.recursive = map[string]bool{}
	calls := map[string][]journeyCall{}
	var names []string
	for _, j := range l.journeys {
		if l.cfg.Journeys[j.Name] != j {
			continue
		}
		names = append(names, j.Name)
		calls[j.Name] = j.calls
	}
	state := map[string]int{} // 0 new, 1 on the path, 2 done
	var path []journeyCall
	reported := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		state[name] = 1
		for _, c := range calls[name] {
			if _, ok := calls[c.target]; !ok {
				continue
			}
			switch state[c.target] {
			case 0:
				path = append(path, c)
				visit(c.target)
				path = path[:len(path)-1]
			case 1:
				// The cycle is the part of path from c.target on, plus c.
				start := len(path)
				for k := len(path) - 1; k >= 0; k-- {
					if path[k].from == c.target {
						start = k
						break
					}
				}
				if c.from == c.target {
					start = len(path)
				}
				cyc := append(append([]journeyCall(nil), path[start:]...), c)
				key := cycleKey(cyc)
				if reported[key] {
					continue
				}
				reported[key] = true
				for _, x := range cyc {
					l.recursive[x.from] = true
				}
				steps := []string{"journey." + c.target}
				for _, x := range cyc {
					steps = append(steps, "journey."+x.target)
				}
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Journey recursion",
					Detail: fmt.Sprintf("Journeys enter each other in a cycle: %s (through the node %q of journey %q), so a session could nest without end.",
						strings.Join(steps, " → "), c.node.Name, name),
					Subject: c.rng.Ptr(),
				})
			}
		}
		state[name] = 2
	}
	for _, n := range names {
		if state[n] == 0 {
			visit(n)
		}
	}
	return diags
}

func cycleKey(cyc []journeyCall) string {
	names := make([]string, len(cyc))
	for i, c := range cyc {
		names[i] = c.target
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// factBit returns the bit of a fact, assigning one on first sight. Past
// 64 distinct facts the rest share no bit and are not checked.
func (l *loader) factBit(f engine.Fact) factSet {
	if b, ok := l.facts[f]; ok {
		return b
	}
	if l.facts == nil {
		l.facts = map[engine.Fact]factSet{}
	}
	if len(l.facts) >= 64 {
		return 0
	}
	b := factSet(1) << uint(len(l.facts))
	l.facts[f] = b
	l.factNames = append(l.factNames, f)
	return b
}

func (l *loader) factsOf(fs []engine.Fact) factSet {
	var s factSet
	for _, f := range fs {
		s |= l.factBit(f)
	}
	return s
}

// provides is what leaving n by o establishes: the type's Provides, and
// for a node entering a journey, what that journey guarantees at success
// when n leaves by success.
func (l *loader) provides(n *Node, o engine.Outcome, calls map[*Node][]string) factSet {
	s := l.factsOf(callProvides(n.typ, n.Settings, o))
	if o == engine.Success {
		for _, target := range calls[n] {
			if t := l.cfg.Journeys[target]; t != nil && l.graphs[t] != nil && !l.recursive[target] {
				s |= l.successFacts[t]
			}
		}
	}
	return s
}

// flow is the result of the data-flow analysis of one journey.
type flow struct {
	entry   []factSet // facts holding on entry to each node
	reached []bool
	success factSet // facts holding whenever the journey ends in success
}

// checkDataflow checks that every node's Requires hold on every path that
// reaches it. Journeys are analysed together, to a fixpoint: a journey
// entered by inner_journey nodes starts with the facts that hold at every
// such node (so an MFA sub-journey knows the user its callers
// established), unless a radius_policy or relying_party serves it
// directly, in which case it starts with none; and an inner_journey node
// leaving by success establishes what its target guarantees at success.
// The fixpoint starts from "every fact" and only removes facts.
func (l *loader) checkDataflow() hcl.Diagnostics {
	served := map[string]bool{}
	for _, p := range l.cfg.RADIUSPolicies {
		served[p.Journey] = true
	}
	for _, rp := range l.cfg.RelyingParties {
		served[rp.Journey] = true
	}
	called := map[string]bool{}
	var order []*Journey
	for _, j := range l.journeys {
		if l.graphs[j] == nil {
			continue
		}
		order = append(order, j)
		for _, c := range j.calls {
			called[c.target] = true
		}
	}
	entry := map[*Journey]factSet{}
	for _, j := range order {
		l.successFacts[j] = allFacts
		if called[j.Name] && !served[j.Name] && !l.recursive[j.Name] {
			entry[j] = allFacts
		}
	}
	// A worklist over journeys: a journey is analysed again when its
	// entry facts or a callee's success facts shrink. Facts only shrink, so
	// each journey is analysed a bounded number of times and the work
	// stays linear in the size of the configuration.
	sites := map[*Journey][]*journeyCall{} // call sites entering each journey
	callersOf := map[*Journey][]*Journey{}
	contrib := map[*journeyCall]factSet{}
	for _, j := range order {
		for k := range j.calls {
			c := &j.calls[k]
			if t := l.cfg.Journeys[c.target]; t != nil && l.graphs[t] != nil {
				sites[t] = append(sites[t], c)
				callersOf[t] = append(callersOf[t], j)
				contrib[c] = allFacts
			}
		}
	}
	flows := map[*Journey]*flow{}
	queued := map[*Journey]bool{}
	queue := append([]*Journey(nil), order...)
	for _, j := range order {
		queued[j] = true
	}
	push := func(j *Journey) {
		if !queued[j] {
			queued[j] = true
			queue = append(queue, j)
		}
	}
	for len(queue) > 0 {
		j := queue[0]
		queue = queue[1:]
		queued[j] = false
		f := l.dataflow(j, entry[j])
		flows[j] = f
		if f.success != l.successFacts[j] {
			l.successFacts[j] = f.success
			for _, c := range callersOf[j] {
				push(c)
			}
		}
		g := l.graphs[j]
		for k := range j.calls {
			c := &j.calls[k]
			t := l.cfg.Journeys[c.target]
			if _, tracked := contrib[c]; !tracked {
				continue
			}
			v := allFacts
			if i, ok := g.index[c.node.Name]; ok && f.reached[i] {
				v = f.entry[i]
			}
			if contrib[c] == v {
				continue
			}
			contrib[c] = v
			if _, viaCallers := entry[t]; !viaCallers {
				continue
			}
			e := allFacts
			for _, site := range sites[t] {
				e &= contrib[site]
			}
			if e != entry[t] {
				entry[t] = e
				push(t)
			}
		}
	}
	// Who enters each journey with which facts, to explain a requirement
	// that fails because of a caller.
	callers := map[*Journey][]caller{}
	for _, j := range order {
		g, f := l.graphs[j], flows[j]
		for _, c := range j.calls {
			t := l.cfg.Journeys[c.target]
			if i, ok := g.index[c.node.Name]; t != nil && ok && f.reached[i] {
				callers[t] = append(callers[t], caller{j: j, node: c.node, facts: f.entry[i]})
			}
		}
	}
	var diags hcl.Diagnostics
	for _, j := range order {
		_, viaCallers := entry[j]
		diags = append(diags, l.requirements(j, flows[j], viaCallers, callers[j])...)
	}
	return diags
}

// caller is an inner_journey node entering a journey, with the facts
// holding there.
type caller struct {
	j     *Journey
	node  *Node
	facts factSet
}

// dataflow is a must-analysis over one journey: the facts holding on entry
// to a node are the intersection, over every edge into it, of what holds
// after its source.
func (l *loader) dataflow(j *Journey, start factSet) *flow {
	g := l.graphs[j]
	calls := map[*Node][]string{}
	for _, c := range j.calls {
		calls[c.node] = append(calls[c.node], c.target)
	}
	n := len(g.nodes)
	if g.prov == nil {
		g.prov = make([][]factSet, n)
		for i := range g.nodes {
			g.prov[i] = make([]factSet, len(g.edges[i]))
		}
	}
	for i, nd := range g.nodes {
		for k, e := range g.edges[i] {
			g.prov[i][k] = l.provides(nd, e.outcome, calls)
		}
	}
	f := &flow{entry: make([]factSet, n), reached: make([]bool, n), success: allFacts}
	f.reached[g.start] = true
	f.entry[g.start] = start
	work := []int{g.start}
	inWork := make([]bool, n)
	inWork[g.start] = true
	anySuccess := false
	for len(work) > 0 {
		i := work[len(work)-1]
		work = work[:len(work)-1]
		inWork[i] = false
		for k, e := range g.edges[i] {
			out := f.entry[i] | g.prov[i][k]
			if e.to == toSuccess {
				f.success &= out
				anySuccess = true
				continue
			}
			if e.to < 0 {
				continue
			}
			t := e.to
			nv := out
			if f.reached[t] {
				nv = f.entry[t] & out
				if nv == f.entry[t] {
					continue
				}
			}
			f.reached[t] = true
			f.entry[t] = nv
			if !inWork[t] {
				inWork[t] = true
				work = append(work, t)
			}
		}
	}
	if !anySuccess {
		f.success = 0
	}
	return f
}

// requirements reports nodes whose Requires do not hold, with a path that
// shows it.
func (l *loader) requirements(j *Journey, f *flow, viaCallers bool, callers []caller) hcl.Diagnostics {
	g := l.graphs[j]
	var diags hcl.Diagnostics
	for i, nd := range g.nodes {
		if !f.reached[i] || len(nd.typ.Requires) == 0 {
			continue
		}
		for _, fact := range nd.typ.Requires {
			b := l.factBit(fact)
			if b == 0 || f.entry[i]&b != 0 {
				continue
			}
			path := ""
			if f.entry[g.start]&b == 0 {
				path = g.witness(i, b, g.prov)
				if viaCallers {
					for _, c := range callers {
						if c.facts&b == 0 {
							path = fmt.Sprintf("journey %q enters journey %q (node.%s) without one, then %s", c.j.Name, j.Name, c.node.Name, path)
							break
						}
					}
				}
			}
			diags = append(diags, factDiag(nd, fact, path))
		}
	}
	return diags
}

// witness finds a path from start to target along which fact b is never
// established, to show the user how the requirement fails.
func (g *graph) witness(target int, b factSet, prov [][]factSet) string {
	parent := make([]int, len(g.nodes))
	via := make([]engine.Outcome, len(g.nodes))
	for i := range parent {
		parent[i] = -2
	}
	parent[g.start] = -1
	queue := []int{g.start}
	for len(queue) > 0 && parent[target] == -2 {
		i := queue[0]
		queue = queue[1:]
		for k, e := range g.edges[i] {
			if e.to < 0 || prov[i][k]&b != 0 || parent[e.to] != -2 {
				continue
			}
			parent[e.to] = i
			via[e.to] = e.outcome
			queue = append(queue, e.to)
		}
	}
	if parent[target] == -2 {
		return ""
	}
	var steps []string
	for c := target; c >= 0; c = parent[c] {
		step := "node." + g.nodes[c].Name
		if parent[c] >= 0 {
			step = "--" + string(via[c]) + "--> " + step
		} else {
			step = "start --> " + step
		}
		steps = append(steps, step)
	}
	for i, k := 0, len(steps)-1; i < k; i, k = i+1, k-1 {
		steps[i], steps[k] = steps[k], steps[i]
	}
	return strings.Join(steps, " ")
}

// factDiag words a missing fact for the user.
func factDiag(n *Node, f engine.Fact, path string) *hcl.Diagnostic {
	var summary, need, fix string
	switch f {
	case engine.FactUser:
		summary = n.Type + " reachable without a user known"
		need = "a known user"
		fix = "Put a node that establishes the user (credentials, username, federated_login) before it on every path."
	case engine.FactPushSent:
		summary = n.Type + " reachable before a push_sender sent"
		need = "a push sent by a push_sender"
		fix = "Put a push_sender (leaving by sent) before it on every path."
	default:
		summary = fmt.Sprintf("%s reachable without %s", n.Type, f)
		need = fmt.Sprintf("the fact %q", f)
		fix = fmt.Sprintf("Put a node that establishes %q before it on every path.", f)
	}
	detail := fmt.Sprintf("The node %q (%s) needs %s, but it can be reached without one", n.Name, n.Type, need)
	if path != "" {
		detail += ": " + path
	}
	detail += ". " + fix
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: n.DeclRange.Ptr()}
}

// blockRange is the whole source of a block (header and body), for the
// journey revision hash; JSON blocks fall back to their header.
func blockRange(b *hcl.Block) hcl.Range {
	if sb, ok := b.Body.(*hclsyntax.Body); ok {
		return hcl.RangeBetween(b.DefRange, sb.SrcRange)
	}
	return b.DefRange
}

// journeyRevisions hashes each journey with its realm and every journey it
// enters, so a session pins exactly the behaviour it started with.
func (l *loader) journeyRevisions() {
	memo := map[string]string{}
	busy := map[string]bool{}
	var rev func(j *Journey) string
	rev = func(j *Journey) string {
		if r, ok := memo[j.Name]; ok {
			return r
		}
		if busy[j.Name] {
			return ""
		}
		busy[j.Name] = true
		h := sha256.New()
		h.Write(l.sliceSource(j.srcRange))
		if r := l.cfg.Realms[j.Realm]; r != nil {
			h.Write([]byte{0})
			h.Write(l.sliceSource(r.srcRange))
		}
		var targets []string
		for _, c := range j.calls {
			targets = append(targets, c.target)
		}
		sort.Strings(targets)
		for _, t := range targets {
			if tj := l.cfg.Journeys[t]; tj != nil {
				h.Write([]byte{0})
				h.Write([]byte(rev(tj)))
			}
		}
		r := hex.EncodeToString(h.Sum(nil))
		memo[j.Name] = r
		busy[j.Name] = false
		return r
	}
	for _, j := range l.journeys {
		if l.cfg.Journeys[j.Name] == j && j.Compiled != nil {
			j.Compiled.Revision = rev(j)
		}
	}
}

func (l *loader) sliceSource(r hcl.Range) []byte {
	src := l.sources[r.Filename]
	if r.Start.Byte < 0 || r.End.Byte > len(src) || r.Start.Byte > r.End.Byte {
		return nil
	}
	if r.Start.Byte == r.End.Byte || strings.HasSuffix(r.Filename, ".json") {
		return src // JSON: the whole file, coarser but still exact
	}
	return src[r.Start.Byte:r.End.Byte]
}
