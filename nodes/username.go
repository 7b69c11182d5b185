package nodes

import (
	"context"

	"github.com/authd/authd/engine"
)

// UsernameConfig are the settings of a username node.
type UsernameConfig struct {
	// Prompt labels the field (default "User name").
	Prompt string `hcl:"prompt,optional"`
}

func init() {
	engine.Register(&engine.NodeType{
		Name:        "username",
		Summary:     "asks a user name",
		Config:      func() any { return &UsernameConfig{} },
		Outcomes:    engine.FixedOutcomes("next"),
		New:         newUsername,
		Interactive: true,
		Provides:    providesOn("next", engine.FactUser),
		StateKeys:   noStateKeys,
	})
}

func newUsername(cfg any) (engine.Node, error) {
	c, err := settings[UsernameConfig](cfg)
	if err != nil {
		return nil, err
	}
	n := &username{prompt: "User name"}
	if c.Prompt != "" {
		n.prompt = c.Prompt
	}
	return n, nil
}

// username asks a user name (callback id "username") and makes it the
// session's user. An empty answer is asked again.
type username struct{ prompt string }

// Process implements engine.Node.
func (n *username) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	if nc.Resumed() {
		raw, _ := nc.Answer(usernameID)
		if name, ok := cleanUsername(raw); ok {
			nc.SetUser(name)
			return engine.Next("next"), nil
		}
	}
	return engine.Ask(engine.Callback{Type: engine.CallbackName, ID: usernameID, Prompt: n.prompt}), nil
}

var _ engine.Node = (*username)(nil)
