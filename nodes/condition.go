package nodes

import (
	"context"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/authd/authd/engine"
)

// ConditionConfig are the settings of a condition node.
type ConditionConfig struct {
	// When is a runtime expression that must evaluate to a bool.
	When hcl.Expression `hcl:"when"`
}

func init() {
	engine.Register(&engine.NodeType{
		Name:      "condition",
		Summary:   "branches on a runtime expression (when = ...)",
		Config:    func() any { return &ConditionConfig{} },
		Outcomes:  engine.FixedOutcomes("true", "false"),
		New:       newCondition,
		Provides:  providesNothing,
		StateKeys: noStateKeys,
	})
}

func newCondition(cfg any) (engine.Node, error) {
	c, err := settings[ConditionConfig](cfg)
	if err != nil {
		return nil, err
	}
	if isNullExpr(c.When) {
		return nil, &engine.SettingError{Setting: "when", Message: "must be an expression that evaluates to true or false"}
	}
	if v, ok := staticValue(c.When); ok && (v.IsNull() || v.Type() != cty.Bool) {
		return nil, &engine.SettingError{Setting: "when", Message: fmt.Sprintf("must be a bool, not %s", friendly(v))}
	}
	return &condition{when: c.When}, nil
}

// condition evaluates `when` against the user, the request and the shared
// state and leaves by true or false. Anything but a bool (a string, a
// number, a null such as a state key no node has written yet) is a fault:
// guessing would turn a configuration mistake into an access decision.
type condition struct{ when hcl.Expression }

// Process implements engine.Node.
func (n *condition) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	v, err := nc.Eval(n.when)
	if err != nil {
		return engine.Result{}, fmt.Errorf("condition: %w", err)
	}
	v, _ = v.Unmark()
	switch {
	case v.IsNull():
		return engine.Result{}, fmt.Errorf("condition: %s: when evaluated to null (a state key not written yet, or an empty attribute?); it must be true or false", n.when.Range())
	case !v.IsKnown() || v.Type() != cty.Bool:
		return engine.Result{}, fmt.Errorf("condition: %s: when must be a bool, got %s", n.when.Range(), friendly(v))
	case v.True():
		return engine.Next("true"), nil
	}
	return engine.Next("false"), nil
}

var _ engine.Node = (*condition)(nil)
