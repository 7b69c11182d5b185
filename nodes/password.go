package nodes

import (
	"context"

	"github.com/authd/authd/engine"
)

// PasswordConfig are the settings of a password node.
type PasswordConfig struct {
	// Prompt labels the field (default "Password").
	Prompt string `hcl:"prompt,optional"`
}

func init() {
	engine.Register(&engine.NodeType{
		Name:        "password",
		Summary:     "asks a password (kept for this request only)",
		Config:      func() any { return &PasswordConfig{} },
		Outcomes:    engine.FixedOutcomes("next"),
		New:         newPassword,
		Interactive: true,
		Provides:    providesNothing,
		StateKeys:   noStateKeys,
	})
}

func newPassword(cfg any) (engine.Node, error) {
	c, err := settings[PasswordConfig](cfg)
	if err != nil {
		return nil, err
	}
	n := &password{prompt: "Password"}
	if c.Prompt != "" {
		n.prompt = c.Prompt
	}
	return n, nil
}

// password asks a password (callback id "password") and keeps it in the
// request's transient values for password_check, which must therefore
// follow it without another suspension in between. The password is never
// written to the session. An empty password is taken as given (it will
// fail the check); only a missing answer is asked again.
type password struct{ prompt string }

// Process implements engine.Node.
func (n *password) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	if nc.Resumed() {
		if pw, ok := nc.Answer(passwordID); ok {
			nc.SetTransient(transientPassword, pw)
			return engine.Next("next"), nil
		}
	}
	return engine.Ask(engine.Callback{Type: engine.CallbackPassword, ID: passwordID, Prompt: n.prompt}), nil
}

var _ engine.Node = (*password)(nil)
