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

// transientUsernameTaken marks that the request's own user name (RADIUS
// PAP) was consumed by a username node, so a journey that loops back to it
// in the same request asks instead of reusing it. It is a mark of its own,
// apart from the credentials node's, so that username -> password takes
// both halves of one request.
const transientUsernameTaken = "nodes.username_taken"

func init() {
	engine.Register(&engine.NodeType{
		Name:        "username",
		Summary:     "asks a user name (RADIUS: taken from the Access-Request)",
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
//
// When the request itself carries credentials (RADIUS PAP, the OAuth
// password grant) it takes their user name without asking, once per
// request, as the credentials node does: a RADIUS journey of username ->
// condition -> success then runs in one step, without a suspension and
// the store writes that go with it. A loop back to the node in the same
// request, or a request whose credentials were already taken by a
// credentials node, asks instead.
type username struct{ prompt string }

// Process implements engine.Node.
func (n *username) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	if nc.Resumed() {
		raw, _ := nc.Answer(usernameID)
		if name, ok := cleanUsername(raw); ok {
			nc.SetUser(name)
			return engine.Next("next"), nil
		}
	} else if cr := request(nc).Credentials; cr != nil && nc.Transient(transientUsernameTaken) == "" && nc.Transient(transientCredentialsTaken) == "" {
		if name, ok := cleanUsername(cr.Username); ok {
			nc.SetTransient(transientUsernameTaken, "1")
			nc.SetUser(name)
			return engine.Next("next"), nil
		}
	}
	return engine.Ask(engine.Callback{Type: engine.CallbackName, ID: usernameID, Prompt: n.prompt}), nil
}

var _ engine.Node = (*username)(nil)
