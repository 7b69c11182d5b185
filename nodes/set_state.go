package nodes

import (
	"context"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/authd/authd/engine"
)

// SetStateConfig are the settings of a set_state node.
type SetStateConfig struct {
	// Values is an object constructor { key = <runtime expression> }; its
	// keys must be static names.
	Values hcl.Expression `hcl:"values"`
}

func init() {
	engine.Register(&engine.NodeType{
		Name:      "set_state",
		Summary:   "writes values = { k = <expr> } into the shared state",
		Config:    func() any { return &SetStateConfig{} },
		Outcomes:  engine.FixedOutcomes("next"),
		New:       newSetState,
		Provides:  providesNothing,
		StateKeys: setStateKeys,
	})
}

// stateItem is one key of set_state's values and its expression.
type stateItem struct {
	key  string
	expr hcl.Expression
}

// stateItems reads the static keys of values.
func stateItems(values hcl.Expression) ([]stateItem, *engine.SettingError) {
	if isNullExpr(values) {
		return nil, &engine.SettingError{Setting: "values", Message: "must be an object such as { key = <expression> }"}
	}
	pairs, diags := hcl.ExprMap(values)
	if diags.HasErrors() {
		return nil, &engine.SettingError{Setting: "values", Message: "must be an object constructor such as { key = <expression> }, written out in the node"}
	}
	if len(pairs) == 0 {
		return nil, &engine.SettingError{Setting: "values", Message: "sets nothing: give at least one key"}
	}
	items := make([]stateItem, 0, len(pairs))
	seen := map[string]bool{}
	for _, kv := range pairs {
		key := hcl.ExprAsKeyword(kv.Key)
		if key == "" {
			v, d := kv.Key.Value(nil)
			if d.HasErrors() || v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
				return nil, &engine.SettingError{Setting: "values", Message: "keys must be written as names or quoted strings, not computed"}
			}
			key = v.AsString()
		}
		if !validName(key) {
			return nil, &engine.SettingError{Setting: "values", Message: fmt.Sprintf("%q is not a valid state key: use letters, digits and underscores, not starting with a digit", key)}
		}
		if seen[key] {
			return nil, &engine.SettingError{Setting: "values", Message: fmt.Sprintf("key %q is set twice", key)}
		}
		seen[key] = true
		items = append(items, stateItem{key: key, expr: kv.Value})
	}
	return items, nil
}

func setStateKeys(cfg any) []string {
	c := settingsOr(cfg, func() *SetStateConfig { return &SetStateConfig{} })
	items, _ := stateItems(c.Values)
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = it.key
	}
	return keys
}

func newSetState(cfg any) (engine.Node, error) {
	c, err := settings[SetStateConfig](cfg)
	if err != nil {
		return nil, err
	}
	items, serr := stateItems(c.Values)
	if serr != nil {
		return nil, serr
	}
	return &setState{items: items}, nil
}

// setState evaluates each value of `values` and writes it to the shared
// state under its key, where later nodes and expressions read it as
// state.KEY. All values are evaluated before any is written, so a failing
// expression leaves the state as it was. A null value removes the key.
type setState struct{ items []stateItem }

// Process implements engine.Node.
func (n *setState) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	vals := make([]cty.Value, len(n.items))
	for i, it := range n.items {
		v, err := nc.Eval(it.expr)
		if err != nil {
			return engine.Result{}, fmt.Errorf("set_state %s: %w", it.key, err)
		}
		v, _ = v.UnmarkDeep()
		if !v.IsWhollyKnown() {
			return engine.Result{}, fmt.Errorf("set_state %s: value is not known", it.key)
		}
		vals[i] = v
	}
	for i, it := range n.items {
		if vals[i].IsNull() {
			nc.DeleteState(it.key)
			continue
		}
		nc.SetState(it.key, vals[i])
	}
	return engine.Next("next"), nil
}

var _ engine.Node = (*setState)(nil)
