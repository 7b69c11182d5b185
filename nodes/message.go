package nodes

import (
	"context"
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/authd/authd/engine"
)

// MessageConfig are the settings of a message node.
type MessageConfig struct {
	// Text is a string or a localised map { en = "...", fr = "..." }. It is
	// a runtime expression, so it may use variables (user.name,
	// state.K...); {{user}} and {{issuer}} are replaced too.
	Text hcl.Expression `hcl:"text"`
}

// messageID is the id of the message node's text callback.
const messageID = "message"

// messageShown is the message node's scratch value while it waits.
const messageShown = "shown"

func init() {
	engine.Register(&engine.NodeType{
		Name:        "message",
		Summary:     "shows a message (text, localised) and continues when the client comes back",
		Config:      func() any { return &MessageConfig{} },
		Outcomes:    engine.FixedOutcomes("next"),
		New:         newMessage,
		Interactive: true,
		Provides:    providesNothing,
		StateKeys:   noStateKeys,
	})
}

func newMessage(cfg any) (engine.Node, error) {
	c, err := settings[MessageConfig](cfg)
	if err != nil {
		return nil, err
	}
	if isNullExpr(c.Text) {
		return nil, &engine.SettingError{Setting: "text", Message: "must be a string or a map of language to text"}
	}
	if v, ok := staticValue(c.Text); ok {
		m, err := localizedValue(v)
		if err != nil {
			return nil, &engine.SettingError{Setting: "text", Message: err.Error()}
		}
		if t, plain := m[""]; plain && t == "" {
			return nil, &engine.SettingError{Setting: "text", Message: "is empty"}
		}
		var p problems
		checkLocalized("text", withoutBlankKey(m), &p)
		if err := p.err(); err != nil {
			return nil, err
		}
	}
	return &message{text: c.Text}, nil
}

// withoutBlankKey drops the "" key localizedValue uses for a plain string.
func withoutBlankKey(m map[string]string) map[string]string {
	if _, ok := m[""]; !ok {
		return m
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if k != "" {
			out[k] = v
		}
	}
	return out
}

// message shows text in a single display-only `text` callback (id
// "message") and leaves by next on the following resume, whatever it
// carries: the text needs no answer, so an API client just sends the
// session back, and a RADIUS user answers the challenge with anything. The
// node remembers in its scratch data that it has shown the message, so the
// resume is recognised even when a client sends no callbacks back.
type message struct{ text hcl.Expression }

// Process implements engine.Node.
func (n *message) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	if nc.Resumed() || nc.Data() == messageShown {
		nc.SetData("")
		return engine.Next("next"), nil
	}
	v, err := nc.Eval(n.text)
	if err != nil {
		return engine.Result{}, fmt.Errorf("message: %w", err)
	}
	m, err := localizedValue(v)
	if err != nil {
		return engine.Result{}, fmt.Errorf("message: %s: text %s", n.text.Range(), err)
	}
	text := m[""]
	if text == "" {
		text = localize(m, nc)
	}
	nc.SetData(messageShown)
	return engine.Ask(engine.Callback{Type: engine.CallbackText, ID: messageID, Message: expand(text, nc)}), nil
}

var _ engine.Node = (*message)(nil)
