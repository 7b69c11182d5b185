package nodes

import (
	"context"
	"fmt"
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

// otpOrPush asks once for either a one-time code or a push, as
// FortiAuthenticator does: a blank answer or the word "push" (any case)
// leaves by push; anything else leaves by code, handing the answer to
// otp_verify within the request (a transient value: the code never reaches
// the session), where a malformed code fails like a wrong one. A user with
// neither a confirmed OTP token nor a live push device leaves by
// not_enrolled before anything is asked.
type otpOrPush struct{ prompt string }

// Process implements engine.Node.
func (n *otpOrPush) Process(ctx context.Context, nc *engine.Context) (engine.Result, error) {
	if nc.Resumed() {
		ans, _ := nc.Answer(otpCodeID)
		a := strings.TrimSpace(ans)
		if a == "" || strings.EqualFold(a, "push") {
			return engine.Result{Outcome: "push", Reason: "push chosen"}, nil
		}
		nc.SetTransient(transientOTPCode, a)
		return engine.Result{Outcome: "code", Reason: "code entered"}, nil
	}
	user := nc.UserName()
	if user == "" {
		return engine.Result{Outcome: "not_enrolled", Reason: "no user is known"}, nil
	}
	repo, err := mfaRepo(nc)
	if err != nil {
		return engine.Result{}, err
	}
	hasToken, err := repo.HasToken(realmName(nc), user)
	if err != nil {
		return engine.Result{}, err
	}
	if !hasToken {
		hasDevice := false
		if nc.Services != nil && nc.Services.Push != nil {
			if hasDevice, err = nc.Services.Push.HasDevice(ctx, realmName(nc), user); err != nil {
				return engine.Result{}, fmt.Errorf("looking up push devices: %w", err)
			}
		}
		if !hasDevice {
			return engine.Result{Outcome: "not_enrolled", Reason: "the user has no OTP token and no push device"}, nil
		}
	}
	return engine.Ask(engine.Callback{Type: engine.CallbackCode, ID: otpCodeID, Prompt: expand(n.prompt, nc)}), nil
}

var _ engine.Node = (*otpOrPush)(nil)
