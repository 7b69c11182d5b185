package nodes

import (
	"context"
	"fmt"
	"strings"

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

// recoveryCodeCollector asks a recovery code (a `code` callback) and leaves
// by true when it is one of the user's unused codes, which it burns in the
// same store transaction (each code works once), false otherwise. A wrong
// code counts toward the realm's lockout; a locked account leaves by false
// before anything is asked or checked. A blank answer is false but counts
// as nothing.
type recoveryCodeCollector struct{ prompt string }

// Process implements engine.Node.
func (n *recoveryCodeCollector) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	u, res, done, err := mfaUser(nc)
	if done || err != nil {
		if done {
			res.Outcome = "false"
		}
		return res, err
	}
	if !nc.Resumed() {
		return engine.Ask(engine.Callback{Type: engine.CallbackCode, ID: otpCodeID, Prompt: n.prompt}), nil
	}
	code, _ := nc.Answer(otpCodeID)
	if strings.TrimSpace(code) == "" {
		return engine.Result{Outcome: "false", Reason: "no recovery code given"}, nil
	}
	repo, err := mfaRepo(nc)
	if err != nil {
		return engine.Result{}, err
	}
	ok, err := repo.UseRecoveryCode(u.Realm, u.Name, code)
	if err != nil {
		return engine.Result{}, fmt.Errorf("checking a recovery code: %w", err)
	}
	if ok {
		if err := clearFailures(nc, u); err != nil {
			return engine.Result{}, err
		}
		left, _ := repo.RecoveryCodes(u.Realm, u.Name)
		nc.Log().Info("recovery code used", "left", left.Left)
		return engine.Result{Outcome: "true", Reason: "recovery code accepted"}, nil
	}
	reason := "wrong recovery code"
	if !u.Created.IsZero() {
		locked, err := recordFailure(nc, u)
		if err != nil {
			return engine.Result{}, err
		}
		if locked {
			reason += "; account locked"
		}
	}
	return engine.Result{Outcome: "false", Reason: reason}, nil
}

var _ engine.Node = (*recoveryCodeCollector)(nil)
