package nodes

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/mfa"
	"github.com/authd/authd/engine/users"
)

// OTPVerifyConfig are the settings of an otp_verify node.
type OTPVerifyConfig struct {
	// Window is how many time steps (TOTP) or counter values (HOTP) either
	// side of the expected one are accepted, for clock drift (default 1).
	// HOTP looks ahead only: earlier counters are used up.
	Window int `hcl:"window,optional"`
}

func init() {
	engine.Register(&engine.NodeType{
		Name:        "otp_verify",
		Summary:     "checks a TOTP/HOTP code (RFC 6238/4226) with drift window and replay protection",
		Config:      func() any { return &OTPVerifyConfig{Window: 1} },
		Outcomes:    engine.FixedOutcomes("success", "failure", "not_enrolled"),
		New:         newOTPVerify,
		Interactive: true, // asks for the code itself when no otp_or_push took one
		Requires:    []engine.Fact{engine.FactUser},
		Provides:    providesNothing,
		StateKeys:   noStateKeys,
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

// transientOTPCode carries the code otp_or_push took to otp_verify within
// one request; like the password, it is never stored.
const transientOTPCode = "nodes.otp_code"

// otpCodeID is the id of the code callback of otp_verify, otp_or_push and
// otp_registration.
const otpCodeID = "code"

const defaultOTPPrompt = "Code from your authenticator app"

// otpVerify checks a code against the user's OTP tokens, accepting
// `window` steps of drift and refusing a code already used (the accepted
// step or counter is recorded in the same store transaction).
//
// The code is the one otp_or_push took in this request (handed over as a
// transient value, so it never reaches the session); when there is none,
// for a journey that goes straight from password_check to otp_verify, the
// node asks for it with a `code` callback. That is why the type is
// Interactive.
//
// A locked account fails without its code being checked. A wrong code
// counts toward the realm's lockout; a right one clears the failure count,
// as a right password does. not_enrolled: the user has no confirmed token.
type otpVerify struct{ window int }

// Process implements engine.Node.
func (n *otpVerify) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	code := nc.Transient(transientOTPCode)
	nc.SetTransient(transientOTPCode, "")
	if code == "" && !nc.Resumed() {
		return n.ask(nc)
	}
	if code == "" {
		code, _ = nc.Answer(otpCodeID)
	}
	return n.check(nc, code)
}

// ask checks what can be checked without a code, then asks for it.
func (n *otpVerify) ask(nc *engine.Context) (engine.Result, error) {
	u, res, done, err := mfaUser(nc)
	if done || err != nil {
		return res, err
	}
	repo, err := mfaRepo(nc)
	if err != nil {
		return engine.Result{}, err
	}
	has, err := repo.HasToken(u.Realm, u.Name)
	if err != nil {
		return engine.Result{}, err
	}
	if !has {
		return engine.Result{Outcome: "not_enrolled", Reason: "the user has no OTP token"}, nil
	}
	return engine.Ask(engine.Callback{Type: engine.CallbackCode, ID: otpCodeID, Prompt: defaultOTPPrompt}), nil
}

func (n *otpVerify) check(nc *engine.Context, code string) (engine.Result, error) {
	u, res, done, err := mfaUser(nc)
	if done || err != nil {
		return res, err
	}
	repo, err := mfaRepo(nc)
	if err != nil {
		return engine.Result{}, err
	}
	verdict, err := repo.Verify(u.Realm, u.Name, code, n.window, nc.Now())
	if err != nil {
		return engine.Result{}, fmt.Errorf("checking the OTP code: %w", err)
	}
	switch verdict {
	case mfa.Valid:
		if err := clearFailures(nc, u); err != nil {
			return engine.Result{}, err
		}
		return engine.Result{Outcome: "success", Reason: "OTP code accepted"}, nil
	case mfa.NotEnrolled:
		return engine.Result{Outcome: "not_enrolled", Reason: "the user has no OTP token"}, nil
	}
	reason := "wrong OTP code"
	if verdict == mfa.Replayed {
		reason = "OTP code already used"
	}
	res, _, err = codeFailure(nc, u, code, reason)
	return res, err
}

// mfaRepo returns the store of OTP tokens and recovery codes the server
// attached to the engine's store (mfa.Attach), or a fault saying it is
// missing: without the store key there is nothing a code can be checked
// against.
func mfaRepo(nc *engine.Context) (*mfa.Repo, error) {
	if nc.Services == nil || nc.Services.KV == nil {
		return nil, errors.New("no store configured")
	}
	if r := mfa.For(nc.Services.KV); r != nil {
		return r, nil
	}
	return nil, errors.New("OTP tokens and recovery codes are not available: the server attached no mfa store (mfa.Attach with the store key)")
}

// lockoutPolicy is the realm's lockout policy, or nil.
func lockoutPolicy(nc *engine.Context) *users.Lockout {
	if nc.Realm != nil {
		return nc.Realm.Lockout
	}
	return nil
}

// mfaUser loads the session's user for a code check. done is set, with
// the result to return, when there is nothing to check: no user (failure)
// or a locked account (failure, the code unchecked). An unknown user reads
// as a user without second factors, so the node leaves as it would for
// one (the caller decides; here: done with failure only when locked).
func mfaUser(nc *engine.Context) (u *users.User, res engine.Result, done bool, err error) {
	name := nc.UserName()
	if name == "" {
		return nil, engine.Result{Outcome: "failure", Reason: "no user is known"}, true, nil
	}
	u, err = nc.User()
	if errors.Is(err, users.ErrNotFound) {
		// Checks against an unknown user find no token, no code and no
		// phone, and cannot be counted.
		return &users.User{Realm: realmName(nc), Name: name}, engine.Result{}, false, nil
	}
	if err != nil {
		return nil, engine.Result{}, false, err
	}
	if u.Locked(nc.Now()) {
		return nil, engine.Result{Outcome: "failure", Reason: "account locked"}, true, nil
	}
	return u, engine.Result{}, false, nil
}

// codeFailure counts a wrong code toward the realm's lockout and returns
// the failure. Input that cannot be a code (blank, letters) is no guess and
// is not counted. locked reports that this failure locked the account.
func codeFailure(nc *engine.Context, u *users.User, code, reason string) (res engine.Result, locked bool, err error) {
	if !mfa.IsCode(code) || u.Created.IsZero() {
		return engine.Result{Outcome: "failure", Reason: reason}, false, nil
	}
	if locked, err = recordFailure(nc, u); err != nil {
		return engine.Result{}, false, err
	}
	if locked {
		reason += "; account locked"
	}
	return engine.Result{Outcome: "failure", Reason: reason}, locked, nil
}

// recordFailure counts one failed factor toward the realm's lockout and
// reports whether the account is now locked.
func recordFailure(nc *engine.Context, u *users.User) (bool, error) {
	repo, err := userRepo(nc)
	if err != nil {
		return false, err
	}
	locked, err := repo.RecordFailure(u.Realm, u.Name, lockoutPolicy(nc), nc.Now())
	if errors.Is(err, users.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("counting a failed code: %w", err)
	}
	if locked {
		nc.Log().Warn("account locked after failed codes")
	}
	return locked, nil
}

// clearFailures resets the failure count after a right code, as a right
// password does, so failures do not pile up across good logins.
func clearFailures(nc *engine.Context, u *users.User) error {
	if u.Failures == 0 && u.FirstFailure.IsZero() {
		return nil
	}
	repo, err := userRepo(nc)
	if err != nil {
		return err
	}
	err = repo.Update(u.Realm, u.Name, func(x *users.User) error {
		if !x.Locked(nc.Now()) {
			x.Failures, x.FirstFailure = 0, time.Time{}
		}
		return nil
	})
	if errors.Is(err, users.ErrNotFound) {
		return nil
	}
	return err
}

var _ engine.Node = (*otpVerify)(nil)
