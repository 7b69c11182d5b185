package nodes

import (
	"context"

	"github.com/authd/authd/engine"
)

// RecoveryCodeDisplayConfig are the settings of a recovery_code_display node.
type RecoveryCodeDisplayConfig struct {
	// Count is how many codes are generated (default 10, 1 to 50).
	Count int `hcl:"count,optional"`
	// Message is the localised text above the codes.
	Message map[string]string `hcl:"message,optional"`
}

func init() {
	engine.Register(&engine.NodeType{
		Name:        "recovery_code_display",
		Summary:     "generates one-time recovery codes (stored hashed) and shows them once",
		Config:      func() any { return &RecoveryCodeDisplayConfig{Count: 10} },
		Outcomes:    engine.FixedOutcomes("next"),
		New:         newRecoveryCodeDisplay,
		Interactive: true,
		Requires:    []engine.Fact{engine.FactUser},
		Provides:    providesNothing,
		StateKeys:   noStateKeys,
	})
}

func newRecoveryCodeDisplay(cfg any) (engine.Node, error) {
	c, err := settings[RecoveryCodeDisplayConfig](cfg)
	if err != nil {
		return nil, err
	}
	var p problems
	checkRange(&p, "count", c.Count, 1, 50)
	checkLocalized("message", c.Message, &p)
	if err := p.err(); err != nil {
		return nil, err
	}
	return &recoveryCodeDisplay{count: c.Count, message: c.Message}, nil
}

// recoveryCodeDisplay replaces the user's recovery codes with `count` new
// ones, stores only their hashes, shows them once and continues when the
// user comes back. The runtime comes with the recovery code issue.
type recoveryCodeDisplay struct {
	count   int
	message map[string]string
}

// Process implements engine.Node.
func (n *recoveryCodeDisplay) Process(context.Context, *engine.Context) (engine.Result, error) {
	return engine.Result{}, errNotAvailable("recovery_code_display")
}

var _ engine.Node = (*recoveryCodeDisplay)(nil)
