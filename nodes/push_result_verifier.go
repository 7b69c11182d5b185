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
// challenge pushes), failure when denied, reported, answered with the
// wrong number or withdrawn, expired when its timeout passed, waiting
// while no answer came. Every final outcome clears push_message_id (as
// PingAM does), so an expired → push_sender loop sends a fresh push and a
// push is never counted twice.
type pushResultVerifier struct{}

// Process implements engine.Node.
func (n *pushResultVerifier) Process(ctx context.Context, nc *engine.Context) (engine.Result, error) {
	svc, err := pushService(nc)
	if err != nil {
		return engine.Result{}, err
	}
	id := stateString(nc, statePushMessageID)
	if id == "" {
		return engine.Result{Outcome: "failure", Reason: "no push is outstanding"}, nil
	}
	st, err := svc.PushStatus(ctx, realmName(nc), nc.UserName(), id, nc.Now())
	if err != nil {
		if engine.PushErrorReason(err) == engine.PushReasonNotFound {
			nc.DeleteState(statePushMessageID)
			return engine.Result{Outcome: "failure", Reason: "the push is gone"}, nil
		}
		return engine.Result{}, err
	}
	switch st.State {
	case engine.PushPending:
		return engine.Result{Outcome: "waiting", Reason: "no answer yet"}, nil
	case engine.PushApproved:
		nc.DeleteState(statePushMessageID)
		return engine.Result{Outcome: "success", Reason: "push approved"}, nil
	case engine.PushExpired:
		nc.DeleteState(statePushMessageID)
		return engine.Result{Outcome: "expired", Reason: "the push expired unanswered"}, nil
	default:
		nc.DeleteState(statePushMessageID)
		reason := st.Reason
		if reason == "" {
			reason = st.State
		}
		return engine.Result{Outcome: "failure", Reason: "push " + reason}, nil
	}
}

var _ engine.Node = (*pushResultVerifier)(nil)
