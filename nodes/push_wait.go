package nodes

import (
	"context"

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

// pushWait suspends with a `wait` callback for `seconds` (RADIUS holds the
// request meanwhile), then leaves by done so push_result_verifier can read
// the answer; with exit = true the user may leave by exit instead. The
// runtime comes with the push issue.
type pushWait struct {
	seconds int
	exit    bool
	message map[string]string
}

// Process implements engine.Node.
func (n *pushWait) Process(context.Context, *engine.Context) (engine.Result, error) {
	return engine.Result{}, errNotAvailable("push_wait")
}

var _ engine.Node = (*pushWait)(nil)
