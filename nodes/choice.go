package nodes

import (
	"context"
	"strconv"
	"strings"

	"github.com/authd/authd/engine"
)

// ChoiceConfig are the settings of a choice node.
type ChoiceConfig struct {
	// Options are the choices offered, in order; each is also an outcome,
	// so they are names (letters, digits, underscores).
	Options []string `hcl:"options"`
	// Prompt is shown above the options; {{user}} and {{issuer}} expand.
	Prompt string `hcl:"prompt,optional"`
	// Default is taken when the client answers blank; one of Options.
	Default string `hcl:"default,optional"`
}

// choiceID is the id of the choice node's callback.
const choiceID = "choice"

func init() {
	engine.Register(&engine.NodeType{
		Name:        "choice",
		Summary:     "asks one of options; each option is an outcome",
		Config:      func() any { return &ChoiceConfig{} },
		Outcomes:    choiceOutcomes,
		New:         newChoice,
		Interactive: true,
		Provides:    providesNothing,
		StateKeys:   noStateKeys,
	})
}

// choiceOutcomes is one outcome per option, in order, skipping duplicates
// and names New refuses, so dsl reports the setting rather than odd edges.
func choiceOutcomes(cfg any) []engine.Outcome {
	c := settingsOr(cfg, func() *ChoiceConfig { return &ChoiceConfig{} })
	var out []engine.Outcome
	seen := map[string]bool{}
	for _, o := range c.Options {
		if validName(o) && !seen[o] {
			seen[o] = true
			out = append(out, engine.Outcome(o))
		}
	}
	return out
}

func newChoice(cfg any) (engine.Node, error) {
	c, err := settings[ChoiceConfig](cfg)
	if err != nil {
		return nil, err
	}
	var p problems
	seen := map[string]bool{}
	for _, o := range c.Options {
		switch {
		case !validName(o):
			p.add("options", "%q cannot be an outcome name: use letters, digits and underscores, not starting with a digit", o)
		case seen[o]:
			p.add("options", "%q is listed twice", o)
		}
		seen[o] = true
	}
	if len(seen) < 2 {
		p.add("options", "give at least two options (a single path needs no choice)")
	}
	if c.Default != "" && !seen[c.Default] {
		p.add("default", "%q is not one of the options", c.Default)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return &choice{options: append([]string(nil), c.Options...), prompt: c.Prompt, def: c.Default}, nil
}

// choice asks one of its options with a `choice` callback (id "choice")
// and leaves by the outcome of the same name. An answer matches an option
// exactly, then ignoring case and surrounding spaces, then by its 1-based
// position (handy over RADIUS, where the user types the answer); a blank
// answer takes the default when there is one. Anything else asks again.
type choice struct {
	options []string
	prompt  string
	def     string
}

// Process implements engine.Node.
func (n *choice) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	if nc.Resumed() {
		ans, _ := nc.Answer(choiceID)
		if o, ok := n.match(ans); ok {
			return engine.Next(engine.Outcome(o)), nil
		}
	}
	return engine.Ask(engine.Callback{
		Type:    engine.CallbackChoice,
		ID:      choiceID,
		Prompt:  expand(n.prompt, nc),
		Options: append([]string(nil), n.options...),
	}), nil
}

func (n *choice) match(ans string) (string, bool) {
	for _, o := range n.options {
		if ans == o {
			return o, true
		}
	}
	t := strings.TrimSpace(ans)
	if t == "" {
		return n.def, n.def != ""
	}
	for _, o := range n.options {
		if strings.EqualFold(t, o) {
			return o, true
		}
	}
	if i, err := strconv.Atoi(t); err == nil && i >= 1 && i <= len(n.options) {
		return n.options[i-1], true
	}
	return "", false
}

var _ engine.Node = (*choice)(nil)
