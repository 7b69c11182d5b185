package nodes

import (
	"context"
	"fmt"
	"strings"

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

// smsOTPVerify asks the code sms_otp_sender sent (a `code` callback) and
// leaves by success when it matches, once: the code is then void. expired:
// the code's lifetime passed (checked before the code, so a late right code
// is expired, not success). resend: the user answered "resend" (any case);
// sms_otp_sender enforces max_resends. A wrong code asks again until
// max_attempts wrong codes (0: unlimited within the lifetime), then
// failure, and the code is void. Wrong codes count toward the realm's
// lockout, and a locked account fails without its code being checked. A
// blank answer asks again and counts as nothing. Without an outstanding
// code (no sms_otp_sender ran, or its code is spent) it fails.
type smsOTPVerify struct {
	maxAttempts int
	prompt      string
}

// smsResendWord is the answer that asks for a new code.
const smsResendWord = "resend"

// Process implements engine.Node.
func (n *smsOTPVerify) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	rec := loadSMS(nc)
	if rec == nil || rec.Hash == nil {
		return engine.Result{Outcome: "failure", Reason: "no SMS code is outstanding"}, nil
	}
	u, res, done, err := mfaUser(nc)
	if done || err != nil {
		return res, err
	}
	now := nc.Now()
	if !nc.Resumed() {
		if !now.Before(rec.Expires) {
			return n.expire(nc, rec)
		}
		return n.ask(), nil
	}
	ans, _ := nc.Answer(otpCodeID)
	ans = strings.TrimSpace(ans)
	switch {
	case strings.EqualFold(ans, smsResendWord):
		return engine.Result{Outcome: "resend", Reason: "the user asked for a new code"}, nil
	case !now.Before(rec.Expires):
		return n.expire(nc, rec)
	case ans == "":
		return n.ask(), nil
	}
	repo, err := mfaRepo(nc)
	if err != nil {
		return engine.Result{}, err
	}
	if repo.CheckCode(rec.Hash, nc.Session.ID, ans) {
		rec.Hash = nil
		saveSMS(nc, rec)
		if err := clearFailures(nc, u); err != nil {
			return engine.Result{}, err
		}
		return engine.Result{Outcome: "success", Reason: "SMS code accepted"}, nil
	}
	rec.Attempts++
	saveSMS(nc, rec)
	res, locked, err := codeFailure(nc, u, ans, "wrong SMS code")
	if err != nil {
		return engine.Result{}, err
	}
	if locked || (n.maxAttempts > 0 && rec.Attempts >= n.maxAttempts) {
		rec.Hash = nil
		saveSMS(nc, rec)
		if !locked {
			res.Reason = fmt.Sprintf("%d wrong SMS codes (max_attempts = %d)", rec.Attempts, n.maxAttempts)
		}
		return res, nil
	}
	return n.ask(), nil
}

func (n *smsOTPVerify) ask() engine.Result {
	return engine.Ask(engine.Callback{Type: engine.CallbackCode, ID: otpCodeID, Prompt: n.prompt})
}

// expire voids the code and leaves by expired.
func (n *smsOTPVerify) expire(nc *engine.Context, rec *smsRecord) (engine.Result, error) {
	rec.Hash = nil
	saveSMS(nc, rec)
	return engine.Result{Outcome: "expired", Reason: "the SMS code expired"}, nil
}

var _ engine.Node = (*smsOTPVerify)(nil)
