package nodes

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/mfa"
	"github.com/authd/authd/engine/users"
)

// OTPRegistrationConfig are the settings of an otp_registration node.
type OTPRegistrationConfig struct {
	// Type is "totp" (default; RFC 6238) or "hotp" (RFC 4226, a counter
	// for hardware-style tokens and apps that offer it).
	Type string `hcl:"type,optional"`
	// Issuer labels the token in the app (default: the realm's display name).
	Issuer string `hcl:"issuer,optional"`
	// Algorithm is the HMAC: SHA1 (default), SHA256 or SHA512.
	Algorithm string `hcl:"algorithm,optional"`
	// Digits is the code length: 6 (default) or 8.
	Digits int `hcl:"digits,optional"`
	// Period is the TOTP time step (default "30s").
	Period string `hcl:"period,optional"`
}

func init() {
	engine.Register(&engine.NodeType{
		Name:        "otp_registration",
		Summary:     "enrols a TOTP token (otpauth:// URI and QR code) and confirms one code",
		Config:      func() any { return &OTPRegistrationConfig{Type: "totp", Algorithm: "SHA1", Digits: 6, Period: "30s"} },
		Outcomes:    engine.FixedOutcomes("success", "failure"),
		New:         newOTPRegistration,
		Interactive: true,
		NotOver:     []string{engine.FrontendRADIUS},
		Requires:    []engine.Fact{engine.FactUser},
		Provides:    providesNothing,
		StateKeys:   noStateKeys,
		Warnings:    otpRegistrationWarnings,
	})
}

func otpRegistrationWarnings(cfg any) []*engine.SettingError {
	c := settingsOr(cfg, func() *OTPRegistrationConfig {
		return &OTPRegistrationConfig{Type: "totp", Algorithm: "SHA1", Digits: 6, Period: "30s"}
	})
	var ws []*engine.SettingError
	if c.Type == "hotp" {
		ws = append(ws, warning("type", "many authenticator apps (Microsoft Authenticator among them) support only totp"))
	}
	if c.Algorithm != "" && c.Algorithm != "SHA1" {
		ws = append(ws, warning("algorithm", "many authenticator apps (Google Authenticator among them) ignore it and compute SHA1 codes"))
	}
	if c.Digits != 0 && c.Digits != 6 {
		ws = append(ws, warning("digits", "many authenticator apps ignore it and show 6 digits"))
	}
	if d, err := ParseDuration(c.Period); err == nil && d != 0 && d != 30*time.Second {
		ws = append(ws, warning("period", "many authenticator apps ignore it and use 30s"))
	}
	return ws
}

func newOTPRegistration(cfg any) (engine.Node, error) {
	c, err := settings[OTPRegistrationConfig](cfg)
	if err != nil {
		return nil, err
	}
	var p problems
	checkOneOf(&p, "type", c.Type, "totp", "hotp")
	checkOneOf(&p, "algorithm", c.Algorithm, "SHA1", "SHA256", "SHA512")
	if c.Digits != 6 && c.Digits != 8 {
		p.add("digits", "must be 6 or 8, not %d", c.Digits)
	}
	period, perr := durationSetting("period", c.Period, false, 10*time.Second, 5*time.Minute)
	p.addErr(perr)
	if perr == nil && period%time.Second != 0 {
		p.add("period", "must be a whole number of seconds")
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return &otpRegistration{issuer: c.Issuer, params: mfa.Params{Type: c.Type, Algorithm: c.Algorithm, Digits: c.Digits, Period: period}}, nil
}

// otpRegistration creates a token with a fresh secret for the user and
// shows it as an otpauth:// URI (a `qr` callback, drawn as a QR code by web
// front ends; the key for typing in by hand in a `text` callback) with a
// `code` callback for the first code. The token is stored at once, sealed
// and pending, and counts only once that code is right (mfa.Confirm), so an
// enrolment abandoned halfway leaves nothing usable. Three wrong codes end
// it with failure.
//
// The realm's enrollment_mode decides what a second token does, as it does
// for push devices: single_device refuses it (failure before anything is
// shown), override_allowed replaces the old tokens, multiple_devices keeps
// them. A QR code cannot be shown over RADIUS.
type otpRegistration struct {
	issuer string
	params mfa.Params
}

// otpRegistrationTries is how many wrong confirmation codes end the
// enrolment.
const otpRegistrationTries = 3

// Callback ids of otp_registration (the code callback is otpCodeID).
const (
	otpRegText = "message"
	otpRegQR   = "qr"
)

// Process implements engine.Node.
func (n *otpRegistration) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	user, realm := nc.UserName(), realmName(nc)
	if user == "" {
		return engine.Result{Outcome: "failure", Reason: "no user is known"}, nil
	}
	repo, err := mfaRepo(nc)
	if err != nil {
		return engine.Result{}, err
	}
	mode := ""
	if nc.Realm != nil {
		mode = nc.Realm.EnrollmentMode
	}
	id := nc.Data()
	if !nc.Resumed() || id == "" {
		if _, err := nc.User(); err != nil {
			if errors.Is(err, users.ErrNotFound) {
				return engine.Result{Outcome: "failure", Reason: "no such user"}, nil
			}
			return engine.Result{}, err
		}
		if mfa.ReplaceFor(mode) == mfa.RefuseIfEnrolled {
			has, err := repo.HasToken(realm, user)
			if err != nil {
				return engine.Result{}, err
			}
			if has {
				return engine.Result{Outcome: "failure", Reason: "enrollment_mode single_device: the user already has an OTP token"}, nil
			}
		}
		iss := n.issuer
		if iss == "" {
			iss = issuer(nc)
		}
		e, err := repo.Enroll(realm, user, iss, n.params, false, nc.Now())
		if err != nil {
			return engine.Result{}, fmt.Errorf("enrolling an OTP token: %w", err)
		}
		nc.SetData(e.Token.ID)
		nc.SetCounter(0)
		return engine.Ask(n.callbacks(e.URI, "")...), nil
	}

	code, _ := nc.Answer(otpCodeID)
	res, err := repo.Confirm(realm, user, id, code, 1, mfa.ReplaceFor(mode), nc.Now())
	switch {
	case errors.Is(err, mfa.ErrNoToken):
		nc.SetData("")
		return engine.Result{Outcome: "failure", Reason: "the enrolment expired or was removed"}, nil
	case errors.Is(err, mfa.ErrEnrolled):
		nc.SetData("")
		_ = repo.DeleteToken(realm, user, id)
		return engine.Result{Outcome: "failure", Reason: "enrollment_mode single_device: the user already has an OTP token"}, nil
	case err != nil:
		return engine.Result{}, fmt.Errorf("confirming the OTP token: %w", err)
	case res == mfa.Valid:
		nc.SetData("")
		nc.SetCounter(0)
		nc.Log().Info("OTP token registered", "token", id)
		return engine.Result{Outcome: "success", Reason: "OTP token registered"}, nil
	}
	tries := nc.Counter() + 1
	nc.SetCounter(tries)
	if tries >= otpRegistrationTries {
		nc.SetData("")
		if err := repo.DeleteToken(realm, user, id); err != nil && !errors.Is(err, mfa.ErrNoToken) {
			return engine.Result{}, err
		}
		return engine.Result{Outcome: "failure", Reason: fmt.Sprintf("%d wrong confirmation codes", tries)}, nil
	}
	uri, err := repo.URI(realm, user, id)
	if errors.Is(err, mfa.ErrNoToken) {
		nc.SetData("")
		return engine.Result{Outcome: "failure", Reason: "the enrolment expired or was removed"}, nil
	}
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Ask(n.callbacks(uri, "That code is not right; check the time on your phone and try the next one.")...), nil
}

// callbacks shows the token: instructions with the key for typing in, the
// QR code, and the field for the first code.
func (n *otpRegistration) callbacks(uri, problem string) []engine.Callback {
	key := ""
	if u, err := url.Parse(uri); err == nil {
		key = groupKey(u.Query().Get("secret"))
	}
	msg := "Scan the QR code with your authenticator app, or enter this key in it: " + key + ". Then type the code the app shows."
	if problem != "" {
		msg = problem + " " + msg
	}
	return []engine.Callback{
		{Type: engine.CallbackText, ID: otpRegText, Message: msg},
		{Type: engine.CallbackQR, ID: otpRegQR, URI: uri},
		{Type: engine.CallbackCode, ID: otpCodeID, Prompt: "Code from the app"},
	}
}

// groupKey writes a base32 key in groups of four, as apps show them.
func groupKey(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

var _ engine.Node = (*otpRegistration)(nil)
