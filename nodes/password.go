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

// transientPasswordTaken marks that the request's own password (RADIUS
// PAP) was consumed by a password node, so a journey that loops back to it
// after a wrong password asks instead of checking the same password again
// (which would count one wrong password twice towards a lockout).
const transientPasswordTaken = "nodes.password_taken"

func init() {
	engine.Register(&engine.NodeType{
		Name:        "password",
		Summary:     "asks a password, kept for this request only (RADIUS: taken from the Access-Request)",
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
//
// When the request itself carries credentials (RADIUS PAP, the OAuth
// password grant) it takes their password without asking, once per
// request and only for the user they name (or while no user is
// established yet): the password of one user is never checked against
// another the journey settled on. Credentials already taken by a
// credentials node are not taken again.
type password struct{ prompt string }

// Process implements engine.Node.
func (n *password) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	if nc.Resumed() {
		if pw, ok := nc.Answer(passwordID); ok {
			nc.SetTransient(transientPassword, pw)
			return engine.Next("next"), nil
		}
	} else if pw, ok := requestPassword(nc); ok {
		nc.SetTransient(transientPasswordTaken, "1")
		nc.SetTransient(transientPassword, pw)
		return engine.Next("next"), nil
	}
	return engine.Ask(engine.Callback{Type: engine.CallbackPassword, ID: passwordID, Prompt: n.prompt}), nil
}

// requestPassword is the request's own password, when it may be taken now.
func requestPassword(nc *engine.Context) (string, bool) {
	cr := request(nc).Credentials
	if cr == nil || nc.Transient(transientPasswordTaken) != "" || nc.Transient(transientCredentialsTaken) != "" {
		return "", false
	}
	name, ok := cleanUsername(cr.Username)
	if !ok || (nc.UserName() != "" && nc.UserName() != name) {
		return "", false
	}
	return cr.Password, true
}

var _ engine.Node = (*password)(nil)
