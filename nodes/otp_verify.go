package nodes

import (
	"context"

	"github.com/authd/authd/engine"
)

// OTPVerifyConfig are the settings of an otp_verify node.
type OTPVerifyConfig struct {
	// Window is how many time steps (TOTP) or counter values (HOTP) either
	// side of the expected one are accepted, for clock drift (default 1).
	Window int `hcl:"window,optional"`
}

func init() {
	engine.Register(&engine.NodeType{
		Name:      "otp_verify",
		Summary:   "checks a TOTP/HOTP code (RFC 6238/4226) with drift window and replay protection",
		Config:    func() any { return &OTPVerifyConfig{Window: 1} },
		Outcomes:  engine.FixedOutcomes("success", "failure", "not_enrolled"),
		New:       newOTPVerify,
		Requires:  []engine.Fact{engine.FactUser},
		Provides:  providesNothing,
		StateKeys: noStateKeys,
	})
}

func newOTPVerify(cfg any) (engine.Node, error) {
	c, err := settings[OTPVerifyConfig](cfg)
	if err != nil {
		return nil, err
	}
	var p problems
	checkRange(&p, "window", c.Window, 0, 10)
	if err := p.err(); err != nil {
		return nil, err
	}
	return &otpVerify{window: c.Window}, nil
}

// otpVerify checks the code otp_or_push took against the user's OTP token,
// accepting `window` steps of drift and refusing a code already used. The
// runtime comes with the OTP issue.
type otpVerify struct{ window int }

// Process implements engine.Node.
func (n *otpVerify) Process(context.Context, *engine.Context) (engine.Result, error) {
	return engine.Result{}, errNotAvailable("otp_verify")
}

var _ engine.Node = (*otpVerify)(nil)
