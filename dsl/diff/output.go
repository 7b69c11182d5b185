package diff

import (
	"fmt"
	"io"
	"strings"

	"github.com/authd/authd/engine"
)

// WriteText prints the report for a terminal: one block per changed
// section, "+" added, "-" removed, "~" changed, then the warnings.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	if r.Empty() {
		b.WriteString("no changes in meaning\n")
	}
	for _, s := range r.Sections {
		fmt.Fprintf(&b, "%s %s\n", s.Title(), s.Change)
		if s.Change == Removed {
			continue
		}
		for _, l := range s.Lines {
			b.WriteString("  " + lineText(l, s.Change) + "\n")
		}
		if jd := s.Journey; jd != nil && s.Change != Added {
			for _, n := range jd.Nodes {
				b.WriteString("  " + nodeText(n) + "\n")
				for _, l := range n.Lines {
					b.WriteString("      " + lineText(l, Changed) + "\n")
				}
			}
			for _, e := range jd.Edges {
				b.WriteString("  " + edgeText(e) + "\n")
			}
		}
	}
	if len(r.Warnings) > 0 {
		if !r.Empty() {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s weakening security:\n", plural(len(r.Warnings), "change"))
		for _, wn := range r.Warnings {
			fmt.Fprintf(&b, "  ! %s: %s\n", wn.Subject, wn.Message)
			if wn.Path != "" {
				fmt.Fprintf(&b, "      %s\n", wn.Path)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func lineText(l Line, c Change) string {
	switch {
	case c == Added || l.Old == "(unset)":
		return fmt.Sprintf("+ %s = %s", l.Key, l.New)
	case l.New == "(unset)":
		return fmt.Sprintf("- %s = %s", l.Key, l.Old)
	}
	return fmt.Sprintf("~ %s: %s → %s", l.Key, l.Old, l.New)
}

func nodeText(n NodeChange) string {
	switch n.Change {
	case Added:
		return fmt.Sprintf("+ node %s (%s)", n.Name, n.Type)
	case Removed:
		return fmt.Sprintf("- node %s (%s)", n.Name, n.Type)
	}
	if n.OldType != "" {
		return fmt.Sprintf("~ node %s: type %s → %s", n.Name, n.OldType, n.Type)
	}
	return fmt.Sprintf("~ node %s (%s)", n.Name, n.Type)
}

func edgeText(e EdgeChange) string {
	switch e.Change {
	case Added:
		return fmt.Sprintf("+ edge %s --%s--> %s", e.Node, e.Outcome, e.New)
	case Removed:
		return fmt.Sprintf("- edge %s --%s--> %s", e.Node, e.Outcome, e.Old)
	}
	return fmt.Sprintf("~ edge %s --%s--> %s, now --> %s", e.Node, e.Outcome, e.Old, e.New)
}

// WriteMarkdown prints the report as a pull-request comment: the warnings
// first, as a GitHub alert, then each section as a list, and for each
// changed journey a Mermaid flowchart of the new graph with what was
// added (green), changed (amber) and removed (red, dashed) marked.
// title heads the comment (e.g. "authd diff main → this branch").
func WriteMarkdown(w io.Writer, r *Report, title string) error {
	var b strings.Builder
	if title == "" {
		title = "authd diff"
	}
	fmt.Fprintf(&b, "### %s\n\n", title)
	if r.Empty() {
		b.WriteString("No changes in meaning: the configurations behave the same.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintf(&b, "> [!WARNING]\n> **%s weakening security**\n>\n", plural(len(r.Warnings), "change"))
		for _, wn := range r.Warnings {
			fmt.Fprintf(&b, "> - %s: %s", mdCode(wn.Subject), mdEscape(wn.Message))
			if wn.Path != "" {
				fmt.Fprintf(&b, ": %s", mdCode(wn.Path))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	for _, s := range r.Sections {
		fmt.Fprintf(&b, "#### %s — %s\n\n", mdCode(s.Title()), s.Change)
		if s.Change == Removed && s.Journey == nil {
			continue
		}
		for _, l := range s.Lines {
			fmt.Fprintf(&b, "- %s\n", mdLine(l, s.Change))
		}
		if jd := s.Journey; jd != nil {
			if s.Change == Changed {
				for _, n := range jd.Nodes {
					fmt.Fprintf(&b, "- %s\n", mdCode(nodeText(n)))
					for _, l := range n.Lines {
						fmt.Fprintf(&b, "  - %s\n", mdLine(l, Changed))
					}
				}
				for _, e := range jd.Edges {
					fmt.Fprintf(&b, "- %s\n", mdCode(edgeText(e)))
				}
			}
			if len(s.Lines) > 0 || s.Change == Changed {
				b.WriteString("\n")
			}
			b.WriteString("```mermaid\n")
			b.WriteString(Mermaid(s))
			b.WriteString("```\n")
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdLine(l Line, c Change) string {
	switch {
	case c == Added || l.Old == "(unset)":
		return fmt.Sprintf("added %s = %s", mdCode(l.Key), mdCode(l.New))
	case l.New == "(unset)":
		return fmt.Sprintf("removed %s (was %s)", mdCode(l.Key), mdCode(l.Old))
	}
	return fmt.Sprintf("%s: %s → %s", mdCode(l.Key), mdCode(l.Old), mdCode(l.New))
}

func mdCode(s string) string {
	ticks := "`"
	for strings.Contains(s, ticks) {
		ticks += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return ticks + " " + s + " " + ticks
	}
	return ticks + s + ticks
}

// mdEscape keeps prose from turning into HTML or emphasis.
func mdEscape(s string) string {
	return strings.NewReplacer("<", "&lt;", "*", "\\*").Replace(s)
}

// Mermaid draws a journey section: the new graph, plus what was removed.
func Mermaid(s *Section) string {
	jd := s.Journey
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	status := map[string]Change{}
	types := map[string]string{}
	var order []string
	for _, n := range nodeOrder(jd.Old, jd.New) {
		order = append(order, n)
	}
	oldNodes, newNodes := nodeMap(jd.Old), nodeMap(jd.New)
	for _, n := range order {
		switch o, nw := oldNodes[n], newNodes[n]; {
		case o == nil:
			status[n], types[n] = Added, nw.Type
		case nw == nil:
			status[n], types[n] = Removed, o.Type
		default:
			types[n] = nw.Type
			if o.Type != nw.Type {
				types[n] = o.Type + " → " + nw.Type
			}
		}
	}
	for _, nc := range jd.Nodes {
		if nc.Change == Changed {
			status[nc.Name] = Changed
		}
	}
	b.WriteString("  start([start])\n")
	for _, n := range order {
		fmt.Fprintf(&b, "  %s[\"%s (%s)\"]\n", mermaidID(n), mermaidText(n), mermaidText(types[n]))
	}
	b.WriteString("  t_success([success])\n  t_failure([failure])\n")

	type edge struct {
		from, to string
		st       Change // "" unchanged, Added, Removed
	}
	labels := map[edge][]string{}
	var edges []edge
	addEdge := func(e edge, label string) {
		if _, ok := labels[e]; !ok {
			edges = append(edges, e)
		}
		labels[e] = append(labels[e], label)
	}
	changed := map[string]EdgeChange{}
	for _, ec := range jd.Edges {
		changed[ec.Node+"\x00"+ec.Outcome] = ec
	}
	for _, n := range order {
		node := newNodes[n]
		if node == nil {
			node = oldNodes[n]
		}
		var outs []engine.Outcome
		if o := oldNodes[n]; o != nil {
			outs = append(outs, outcomes(o)...)
		}
		if nw := newNodes[n]; nw != nil {
			outs = append(outcomes(nw), outs...)
		}
		seen := map[engine.Outcome]bool{}
		for _, o := range outs {
			if seen[o] {
				continue
			}
			seen[o] = true
			ec, ok := changed[n+"\x00"+string(o)]
			switch {
			case !ok:
				addEdge(edge{n, node.Edges[o], ""}, string(o))
			case ec.Change == Added:
				addEdge(edge{n, ec.New, Added}, string(o))
			case ec.Change == Removed:
				addEdge(edge{n, ec.Old, Removed}, string(o))
			default:
				addEdge(edge{n, ec.Old, Removed}, string(o))
				addEdge(edge{n, ec.New, Added}, string(o))
			}
		}
	}
	idx := 0
	var addedIdx, removedIdx []string
	startTarget := ""
	if jd.New != nil {
		startTarget = jd.New.Start
	} else if jd.Old != nil {
		startTarget = jd.Old.Start
	}
	if startTarget != "" {
		fmt.Fprintf(&b, "  start --> %s\n", mermaidID(startTarget))
		idx++
	}
	for _, e := range edges {
		arrow := "-->"
		switch e.st {
		case Added:
			arrow = "==>"
			addedIdx = append(addedIdx, fmt.Sprint(idx))
		case Removed:
			arrow = "-.->"
			removedIdx = append(removedIdx, fmt.Sprint(idx))
		}
		fmt.Fprintf(&b, "  %s %s|%s| %s\n", mermaidID(e.from), arrow, mermaidText(strings.Join(labels[e], ", ")), mermaidID(e.to))
		idx++
	}
	b.WriteString("  classDef success fill:#d4edda,stroke:#28a745,color:#155724\n")
	b.WriteString("  classDef failure fill:#f8d7da,stroke:#dc3545,color:#721c24\n")
	b.WriteString("  classDef added fill:#d4edda,stroke:#28a745,stroke-width:3px\n")
	b.WriteString("  classDef changed fill:#fff3cd,stroke:#d39e00,stroke-width:3px\n")
	b.WriteString("  classDef removed fill:#f8d7da,stroke:#dc3545,stroke-dasharray:5 5,color:#721c24\n")
	b.WriteString("  class t_success success\n  class t_failure failure\n")
	for _, c := range []Change{Added, Changed, Removed} {
		var ids []string
		for _, n := range order {
			if status[n] == c {
				ids = append(ids, mermaidID(n))
			}
		}
		if len(ids) > 0 {
			fmt.Fprintf(&b, "  class %s %s\n", strings.Join(ids, ","), c)
		}
	}
	if len(addedIdx) > 0 {
		fmt.Fprintf(&b, "  linkStyle %s stroke:#28a745,stroke-width:3px\n", strings.Join(addedIdx, ","))
	}
	if len(removedIdx) > 0 {
		fmt.Fprintf(&b, "  linkStyle %s stroke:#dc3545,stroke-dasharray:5 5\n", strings.Join(removedIdx, ","))
	}
	return b.String()
}

func mermaidID(name string) string {
	if engine.IsTerminal(name) {
		return "t_" + name
	}
	return "n_" + name
}

func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "|", "#124;", "\n", " ").Replace(s)
}
