package nodes

import (
	"context"
	"strings"

	"github.com/authd/authd/engine"
)

// OTPOrPushConfig are the settings of an otp_or_push node.
type OTPOrPushConfig struct {
	// Prompt is the question shown. FortiGate and FortiClient offer push
	// only when a RADIUS challenge's text begins with "+"; that matters
	// only on journeys served over RADIUS, which dsl knows and this node
	// does not, so the node itself does not warn about it.
	Prompt string `hcl:"prompt,optional"`
}

// defaultOTPOrPushPrompt is FortiAuthenticator's own wording, which
// FortiGate/FortiClient users know.
const defaultOTPOrPushPrompt = "+Please enter the token code. You can also submit a blank response to initiate a push notification to your mobile app."

func init() {
	engine.Register(&engine.NodeType{
		Name:        "otp_or_push",
		Summary:     "one prompt that takes a code, or blank/\"push\" for a push",
		Config:      func() any { return &OTPOrPushConfig{Prompt: defaultOTPOrPushPrompt} },
		Outcomes:    engine.FixedOutcomes("code", "push", "not_enrolled"),
		New:         newOTPOrPush,
		Interactive: true,
		Requires:    []engine.Fact{engine.FactUser},
		Provides:    providesNothing,
		StateKeys:   noStateKeys,
	})
}

func newOTPOrPush(cfg any) (engine.Node, error) {
	c, err := settings[OTPOrPushConfig](cfg)
	if err != nil {
		return nil, err
	}
	n := &otpOrPush{prompt: c.Prompt}
	if strings.TrimSpace(n.prompt) == "" {
		n.prompt = defaultOTPOrPushPrompt
	}
	return n, nil
}

// otpOrPush asks once for either a one-time code or a push: a code leaves
// by code (handing it to otp_verify within the request), a blank answer or
// the word "push" by push, and a user with neither an OTP token nor a push
// device by not_enrolled. The runtime comes with the OTP issue.
type otpOrPush struct{ prompt string }

// Process implements engine.Node.
func (n *otpOrPush) Process(context.Context, *engine.Context) (engine.Result, error) {
	return engine.Result{}, errNotAvailable("otp_or_push")
}

var _ engine.Node = (*otpOrPush)(nil)
