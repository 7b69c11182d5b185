package dsl

import (
	"fmt"
	"strings"

	"github.com/authd/authd/engine"
)

// Graph renders a journey for people: "mermaid" (a flowchart TD that
// GitHub and GitLab draw in Markdown) or "dot" (Graphviz). Nodes are
// labelled "name (type)" in source order, edges by outcome (outcomes
// sharing a target share one edge), and the terminals success and
// failure are styled green and red.
func Graph(cfg *Config, journey string, format string) (string, error) {
	if cfg == nil {
		return "", fmt.Errorf("no configuration")
	}
	j := cfg.Journeys[journey]
	if j == nil {
		names := sortedKeys(cfg.Journeys)
		msg := fmt.Sprintf("there is no journey named %q", journey)
		if s := nameSuggestion(journey, names); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		} else if len(names) > 0 {
			msg += "; the journeys are " + listWords(names)
		}
		return "", fmt.Errorf("%s", msg)
	}
	switch format {
	case "", "mermaid":
		return mermaid(j), nil
	case "dot":
		return dot(j), nil
	}
	return "", fmt.Errorf("unknown graph format %q (want mermaid or dot)", format)
}

// graphEdge is one drawn edge: every outcome of a node that leads to the
// same target.
type graphEdge struct {
	from, to string
	label    string
}

func graphEdges(j *Journey) []graphEdge {
	var out []graphEdge
	for _, n := range j.Nodes {
		if j.byName[n.Name] != n {
			continue
		}
		order := n.Outcomes
		if len(order) == 0 {
			order = sortedOutcomes(n.Edges)
		}
		var targets []string
		labels := map[string][]string{}
		for _, o := range order {
			t, ok := n.Edges[o]
			if !ok {
				continue
			}
			if _, seen := labels[t]; !seen {
				targets = append(targets, t)
			}
			labels[t] = append(labels[t], string(o))
		}
		for _, t := range targets {
			out = append(out, graphEdge{from: n.Name, to: t, label: strings.Join(labels[t], ", ")})
		}
	}
	return out
}

func graphID(name string) string {
	if engine.IsTerminal(name) {
		return "t_" + name
	}
	return "n_" + name
}

func mermaid(j *Journey) string {
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	fmt.Fprintf(&b, "  %%%% journey %s", j.Name)
	if j.Realm != "" {
		fmt.Fprintf(&b, " (realm %s)", j.Realm)
	}
	b.WriteString("\n")
	b.WriteString("  start([start])\n")
	for _, n := range j.Nodes {
		if j.byName[n.Name] == n {
			fmt.Fprintf(&b, "  %s[\"%s (%s)\"]\n", graphID(n.Name), mermaidText(n.Name), mermaidText(n.Type))
		}
	}
	b.WriteString("  t_success([success])\n  t_failure([failure])\n")
	if j.Start != "" {
		fmt.Fprintf(&b, "  start --> %s\n", graphID(j.Start))
	}
	for _, e := range graphEdges(j) {
		fmt.Fprintf(&b, "  %s -->|%s| %s\n", graphID(e.from), mermaidText(e.label), graphID(e.to))
	}
	b.WriteString("  classDef success fill:#d4edda,stroke:#28a745,color:#155724\n")
	b.WriteString("  classDef failure fill:#f8d7da,stroke:#dc3545,color:#721c24\n")
	b.WriteString("  classDef entry fill:#e2e3e5,stroke:#6c757d\n")
	b.WriteString("  class t_success success\n  class t_failure failure\n  class start entry\n")
	return b.String()
}

// mermaidText keeps labels from breaking the syntax; names are
// identifiers already, so this is a guard, not a feature.
func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "|", "#124;", "\n", " ").Replace(s)
}

func dot(j *Journey) string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n", dotQuote(j.Name))
	b.WriteString("  rankdir=TB;\n")
	b.WriteString("  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=10];\n")
	b.WriteString("  start [label=\"start\", shape=circle, style=filled, fillcolor=\"#e2e3e5\"];\n")
	for _, n := range j.Nodes {
		if j.byName[n.Name] == n {
			fmt.Fprintf(&b, "  %s [label=%s];\n", dotQuote(graphID(n.Name)), dotQuote(n.Name+" ("+n.Type+")"))
		}
	}
	b.WriteString("  t_success [label=\"success\", shape=doublecircle, style=filled, fillcolor=\"#d4edda\", color=\"#28a745\"];\n")
	b.WriteString("  t_failure [label=\"failure\", shape=doublecircle, style=filled, fillcolor=\"#f8d7da\", color=\"#dc3545\"];\n")
	if j.Start != "" {
		fmt.Fprintf(&b, "  start -> %s;\n", dotQuote(graphID(j.Start)))
	}
	for _, e := range graphEdges(j) {
		fmt.Fprintf(&b, "  %s -> %s [label=%s];\n", dotQuote(graphID(e.from)), dotQuote(graphID(e.to)), dotQuote(e.label))
	}
	b.WriteString("}\n")
	return b.String()
}

func dotQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
