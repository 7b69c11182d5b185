package nodes

import (
	"context"

	"github.com/authd/authd/engine"
)

// RecoveryCodeCollectorConfig are the settings of a
// recovery_code_collector node.
type RecoveryCodeCollectorConfig struct {
	// Prompt labels the code field (default "Recovery code").
	Prompt string `hcl:"prompt,optional"`
}

func init() {
	engine.Register(&engine.NodeType{
		Name:        "recovery_code_collector",
		Summary:     "asks a recovery code and accepts each code once",
		Config:      func() any { return &RecoveryCodeCollectorConfig{} },
		Outcomes:    engine.FixedOutcomes("true", "false"),
		New:         newRecoveryCodeCollector,
		Interactive: true,
		Requires:    []engine.Fact{engine.FactUser},
		Provides:    providesNothing,
		StateKeys:   noStateKeys,
	})
}

func newRecoveryCodeCollector(cfg any) (engine.Node, error) {
	c, err := settings[RecoveryCodeCollectorConfig](cfg)
	if err != nil {
		return nil, err
	}
	n := &recoveryCodeCollector{prompt: "Recovery code"}
	if c.Prompt != "" {
		n.prompt = c.Prompt
	}
	return n, nil
}

// recoveryCodeCollector asks a recovery code and leaves by true when it
// matches one of the user's unused codes (which it then burns), false
// otherwise. The runtime comes with the recovery code issue.
type recoveryCodeCollector struct{ prompt string }

// Process implements engine.Node.
func (n *recoveryCodeCollector) Process(context.Context, *engine.Context) (engine.Result, error) {
	return engine.Result{}, errNotAvailable("recovery_code_collector")
}

var _ engine.Node = (*recoveryCodeCollector)(nil)
