package nodes

import (
	"context"

	"github.com/authd/authd/engine"
)

func init() {
	engine.Register(&engine.NodeType{
		Name:      "push_result_verifier",
		Summary:   "reads the device's answer to the outstanding push",
		Config:    newNoSettings,
		Outcomes:  engine.FixedOutcomes("success", "failure", "expired", "waiting"),
		New:       withoutSettings(&pushResultVerifier{}),
		Requires:  []engine.Fact{engine.FactPushSent},
		Provides:  providesNothing,
		StateKeys: noStateKeys,
	})
}

// pushResultVerifier reads the answer to the push named by
// state.push_message_id: success when approved (with the right number for
// challenge pushes), failure when denied, expired when its timeout passed,
// waiting while no answer came. The runtime comes with the push issue.
type pushResultVerifier struct{}

// Process implements engine.Node.
func (n *pushResultVerifier) Process(context.Context, *engine.Context) (engine.Result, error) {
	return engine.Result{}, errNotAvailable("push_result_verifier")
}

var _ engine.Node = (*pushResultVerifier)(nil)
