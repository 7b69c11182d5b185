package scenario

import (
	"fmt"
	"sort"

	"github.com/authd/authd/engine"
)

// JourneyCoverage says which outcome edges of a journey the scenarios
// followed. An edge is a node left by one outcome; the start edge is
// implied by the first node.
type JourneyCoverage struct {
	Journey string
	Edges   int // every wired edge
	Covered int
	// Uncovered are the edges no scenario followed, in source order.
	Uncovered []Edge
}

// coverage lists every journey of the configuration, sorted by name.
func (rn *Runner) coverage() []JourneyCoverage {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	var out []JourneyCoverage
	for _, name := range sortedKeys(rn.cfg.Journeys) {
		j := rn.cfg.Journeys[name]
		jc := JourneyCoverage{Journey: name}
		for _, n := range j.Nodes {
			for _, o := range outcomesOf(n.Outcomes, n.Edges) {
				t, ok := n.Edges[o]
				if !ok {
					continue
				}
				e := Edge{Journey: name, Node: n.Name, Outcome: string(o), Target: t}
				jc.Edges++
				if rn.covered[e] {
					jc.Covered++
				} else {
					jc.Uncovered = append(jc.Uncovered, e)
				}
			}
		}
		out = append(out, jc)
	}
	return out
}

// outcomesOf is the outcomes in the type's order, then any other wired
// ones sorted (a partial configuration may wire more).
func outcomesOf(order []engine.Outcome, edges map[engine.Outcome]string) []engine.Outcome {
	seen := map[engine.Outcome]bool{}
	out := append([]engine.Outcome(nil), order...)
	for _, o := range order {
		seen[o] = true
	}
	var rest []string
	for o := range edges {
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

// String writes the edge as reports show it: "check --locked--> failure".
func (e Edge) String() string {
	return fmt.Sprintf("%s --%s--> %s", e.Node, e.Outcome, e.Target)
}
