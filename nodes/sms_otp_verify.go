package nodes

import (
	"context"

	"github.com/authd/authd/engine"
)

// SMSOTPVerifyConfig are the settings of an sms_otp_verify node.
type SMSOTPVerifyConfig struct {
	// MaxAttempts is how many wrong codes are allowed (default 3; 0 is
	// unlimited within the code's lifetime, with a warning).
	MaxAttempts int `hcl:"max_attempts,optional"`
	// Prompt labels the code field (default "SMS code").
	Prompt string `hcl:"prompt,optional"`
}

func init() {
	engine.Register(&engine.NodeType{
		Name:        "sms_otp_verify",
		Summary:     "asks the SMS code and checks it within its lifetime",
		Config:      func() any { return &SMSOTPVerifyConfig{MaxAttempts: 3} },
		Outcomes:    engine.FixedOutcomes("success", "failure", "expired", "resend"),
		New:         newSMSOTPVerify,
		Interactive: true,
		Requires:    []engine.Fact{engine.FactUser},
		Provides:    providesNothing,
		StateKeys:   noStateKeys,
		Warnings:    smsOTPVerifyWarnings,
	})
}

func smsOTPVerifyWarnings(cfg any) []*engine.SettingError {
	c := settingsOr(cfg, func() *SMSOTPVerifyConfig { return &SMSOTPVerifyConfig{MaxAttempts: 3} })
	if c.MaxAttempts == 0 {
		return []*engine.SettingError{warning("max_attempts", "0 allows unlimited guesses of a 6-digit code while it is valid")}
	}
	return nil
}

func newSMSOTPVerify(cfg any) (engine.Node, error) {
	c, err := settings[SMSOTPVerifyConfig](cfg)
	if err != nil {
		return nil, err
	}
	var p problems
	checkRange(&p, "max_attempts", c.MaxAttempts, 0, 100)
	if err := p.err(); err != nil {
		return nil, err
	}
	n := &smsOTPVerify{maxAttempts: c.MaxAttempts, prompt: "SMS code"}
	if c.Prompt != "" {
		n.prompt = c.Prompt
	}
	return n, nil
}

// smsOTPVerify asks the code sms_otp_sender sent: success when it matches,
// expired when its lifetime passed, resend when the user asks for a new
// one, failure after max_attempts wrong codes. The runtime comes with the
// SMS issue.
type smsOTPVerify struct {
	maxAttempts int
	prompt      string
}

// Process implements engine.Node.
func (n *smsOTPVerify) Process(context.Context, *engine.Context) (engine.Result, error) {
	return engine.Result{}, errNotAvailable("sms_otp_verify")
}

var _ engine.Node = (*smsOTPVerify)(nil)
