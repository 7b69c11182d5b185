package nodes

import (
	"context"

	"github.com/authd/authd/engine"
)

func init() {
	engine.Register(&engine.NodeType{
		Name:      "opt_out_mfa",
		Summary:   "marks the user as opted out of push MFA",
		Config:    newNoSettings,
		Outcomes:  engine.FixedOutcomes("next"),
		New:       withoutSettings(&optOutMFA{}),
		Requires:  []engine.Fact{engine.FactUser},
		Provides:  providesNothing,
		StateKeys: noStateKeys,
	})
}

// optOutMFA records on the user that they declined push MFA, so journeys
// can stop offering registration (a condition on the user's attributes).
// The runtime comes with the push registration issue.
type optOutMFA struct{}

// Process implements engine.Node.
func (n *optOutMFA) Process(context.Context, *engine.Context) (engine.Result, error) {
	return engine.Result{}, errNotAvailable("opt_out_mfa")
}

var _ engine.Node = (*optOutMFA)(nil)
