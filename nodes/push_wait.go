package nodes

import (
	"context"
	"strconv"
	"strings"

	"github.com/authd/authd/engine"
)

// PushWaitConfig are the settings of a push_wait node.
type PushWaitConfig struct {
	// Seconds is how long each wait lasts before the journey checks for
	// the answer (default 5, 1 to 60).
	Seconds int `hcl:"seconds,optional"`
	// Exit lets the user leave the wait (default true), which adds the
	// exit outcome.
	Exit bool `hcl:"exit,optional"`
	// Message is the localised text shown while waiting.
	Message map[string]string `hcl:"message,optional"`
}

func newPushWaitConfig() *PushWaitConfig { return &PushWaitConfig{Seconds: 5, Exit: true} }

func init() {
	engine.Register(&engine.NodeType{
		Name:        "push_wait",
		Summary:     "waits `seconds` for the push answer; the user may exit",
		Config:      func() any { return newPushWaitConfig() },
		Outcomes:    pushWaitOutcomes,
		New:         newPushWait,
		Interactive: true,
		Requires:    []engine.Fact{engine.FactPushSent},
		Provides:    providesNothing,
		StateKeys:   noStateKeys,
	})
}

// pushWaitOutcomes: done always; exit only with exit = true (the default),
// as PingAM's exitable Polling Wait node.
func pushWaitOutcomes(cfg any) []engine.Outcome {
	c := settingsOr(cfg, newPushWaitConfig)
	if c.Exit {
		return outcomes("done", "exit")
	}
	return outcomes("done")
}

func newPushWait(cfg any) (engine.Node, error) {
	c, err := settings[PushWaitConfig](cfg)
	if err != nil {
		return nil, err
	}
	var p problems
	checkRange(&p, "seconds", c.Seconds, 1, 60)
	checkLocalized("message", c.Message, &p)
	if err := p.err(); err != nil {
		return nil, err
	}
	return &pushWait{seconds: c.Seconds, exit: c.Exit, message: c.Message}, nil
}

// pushWait suspends with a `wait` callback for `seconds` and a `text`
// callback (the message, and for number matching the number to pick on
// the phone), then leaves by done so push_result_verifier can read the
// answer; with exit = true the user may leave by exit instead, which
// withdraws the push. Front ends that hold the request (RADIUS, an HTTP
// long poll) resume it at once when the answer arrives, because the push
// service wakes the session (engine.Wake); a client that simply comes
// back after `seconds` works too.
//
// When the push was already answered (or expired) before the wait began,
// it leaves by done at once instead of making anyone wait.
type pushWait struct {
	seconds int
	exit    bool
	message map[string]string
}

// Callback ids of push_wait.
const (
	pushWaitCallback = "wait"
	pushTextCallback = "message"
)

// Default texts shown while waiting.
const (
	defaultPushWaitMessage   = "Approve the sign-in request on your phone."
	defaultPushNumberMessage = "Choose {{number}} on your phone to approve the sign-in."
)

// Process implements engine.Node.
func (n *pushWait) Process(ctx context.Context, nc *engine.Context) (engine.Result, error) {
	svc, err := pushService(nc)
	if err != nil {
		return engine.Result{}, err
	}
	id := stateString(nc, statePushMessageID)
	if nc.Resumed() {
		if a, _ := nc.Answer(pushWaitCallback); a == "exit" && n.exit {
			if id != "" {
				if err := svc.CancelPush(ctx, realmName(nc), nc.UserName(), id, nc.Now()); err != nil {
					nc.Log().Warn("withdrawing the push", "err", err)
				}
			}
			return engine.Result{Outcome: "exit", Reason: "the user left the push wait"}, nil
		}
		return engine.Next("done"), nil
	}
	if id == "" {
		return engine.Next("done"), nil // push_result_verifier says what is missing
	}
	st, err := svc.PushStatus(ctx, realmName(nc), nc.UserName(), id, nc.Now())
	if err != nil || st.State != engine.PushPending {
		return engine.Next("done"), nil
	}
	text := engine.Callback{Type: engine.CallbackText, ID: pushTextCallback, ChallengeNumber: st.ChallengeNumber}
	switch {
	case len(n.message) > 0:
		text.Message = localize(n.message, nc)
	case st.ChallengeNumber > 0:
		text.Message = defaultPushNumberMessage
	default:
		text.Message = defaultPushWaitMessage
	}
	text.Message = strings.ReplaceAll(expand(text.Message, nc), "{{number}}", strconv.Itoa(st.ChallengeNumber))
	return engine.Ask(
		engine.Callback{Type: engine.CallbackWait, ID: pushWaitCallback, Seconds: n.seconds, Exit: n.exit},
		text,
	), nil
}

var _ engine.Node = (*pushWait)(nil)
