package nodes

import (
	"context"
	"unicode"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/users"
)

// CredentialsConfig are the settings of a credentials node.
type CredentialsConfig struct {
	// UsernamePrompt labels the user name field (default "User name").
	UsernamePrompt string `hcl:"username_prompt,optional"`
	// PasswordPrompt labels the password field (default "Password").
	PasswordPrompt string `hcl:"password_prompt,optional"`
}

// Callback ids of the credentials, username and password nodes; front ends
// and clients rely on them, so they never change.
const (
	usernameID = "username"
	passwordID = "password"
)

// maxUsernameLen bounds a user name taken from a client; longer answers are
// asked again rather than sent to the store.
const maxUsernameLen = 256

func init() {
	engine.Register(&engine.NodeType{
		Name:        "credentials",
		Summary:     "asks a user name and a password (RADIUS: taken from the Access-Request)",
		Config:      func() any { return &CredentialsConfig{} },
		Outcomes:    engine.FixedOutcomes("next"),
		New:         newCredentials,
		Interactive: true,
		Provides:    providesOn("next", engine.FactUser),
		StateKeys:   noStateKeys,
	})
}

func newCredentials(cfg any) (engine.Node, error) {
	c, err := settings[CredentialsConfig](cfg)
	if err != nil {
		return nil, err
	}
	n := &credentials{userPrompt: "User name", passPrompt: "Password"}
	if c.UsernamePrompt != "" {
		n.userPrompt = c.UsernamePrompt
	}
	if c.PasswordPrompt != "" {
		n.passPrompt = c.PasswordPrompt
	}
	return n, nil
}

// credentials asks a user name and a password in one step. When the
// request itself carries credentials (RADIUS PAP) it takes them without
// asking, once per request: a journey that loops back to it in the same
// request asks instead of reusing them. The user name becomes the
// session's user; the password goes to the request's transient values for
// password_check, never into the session. An empty user name is asked
// again.
type credentials struct {
	userPrompt, passPrompt string
}

// Process implements engine.Node.
func (n *credentials) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	if !nc.Resumed() {
		if cr := request(nc).Credentials; cr != nil && nc.Transient(transientCredentialsTaken) == "" {
			if name, ok := cleanUsername(cr.Username); ok {
				nc.SetTransient(transientCredentialsTaken, "1")
				nc.SetUser(name)
				nc.SetTransient(transientPassword, cr.Password)
				return engine.Next("next"), nil
			}
		}
		return n.ask(), nil
	}
	raw, _ := nc.Answer(usernameID)
	name, ok := cleanUsername(raw)
	if !ok {
		return n.ask(), nil
	}
	pw, _ := nc.Answer(passwordID)
	nc.SetUser(name)
	nc.SetTransient(transientPassword, pw)
	return engine.Next("next"), nil
}

func (n *credentials) ask() engine.Result {
	return engine.Ask(
		engine.Callback{Type: engine.CallbackName, ID: usernameID, Prompt: n.userPrompt},
		engine.Callback{Type: engine.CallbackPassword, ID: passwordID, Prompt: n.passPrompt},
	)
}

// cleanUsername trims a user name and refuses one that is empty, too long
// or holds control characters, which no store should see.
func cleanUsername(s string) (string, bool) {
	s = users.AnsweredName(s)
	if s == "" || len(s) > maxUsernameLen {
		return "", false
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return "", false
		}
	}
	return s, true
}

var _ engine.Node = (*credentials)(nil)
