package nodes

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
// ones (only their keyed hashes are stored, see engine/mfa), shows them
// once in a `text` callback and continues when the user comes back. The
// codes are made when the node is entered, so a user who reloads the page
// gets the same suspension, not a second set; entering the node again
// makes a new set and voids the old.
type recoveryCodeDisplay struct {
	count   int
	message map[string]string
}

const defaultRecoveryMessage = "Save these recovery codes somewhere safe. Each works once if you lose your phone, and they will not be shown again."

// Callback ids of recovery_code_display.
const (
	recoveryMessageID = "message"
	recoveryCodesID   = "codes"
	recoveryShown     = "shown"
)

// Process implements engine.Node.
func (n *recoveryCodeDisplay) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	if nc.Resumed() && nc.Data() == recoveryShown {
		nc.SetData("")
		return engine.Next("next"), nil
	}
	user := nc.UserName()
	if user == "" {
		return engine.Result{}, errors.New("recovery_code_display: no user is known")
	}
	repo, err := mfaRepo(nc)
	if err != nil {
		return engine.Result{}, err
	}
	codes, err := repo.GenerateRecoveryCodes(realmName(nc), user, n.count, nc.Now())
	if err != nil {
		return engine.Result{}, fmt.Errorf("generating recovery codes: %w", err)
	}
	nc.SetData(recoveryShown)
	nc.Log().Info("recovery codes generated", "count", len(codes))
	msg := defaultRecoveryMessage
	if len(n.message) > 0 {
		msg = localize(n.message, nc)
	}
	return engine.Ask(
		engine.Callback{Type: engine.CallbackText, ID: recoveryMessageID, Message: expand(msg, nc)},
		engine.Callback{Type: engine.CallbackText, ID: recoveryCodesID, Message: strings.Join(codes, "\n")},
	), nil
}

var _ engine.Node = (*recoveryCodeDisplay)(nil)
