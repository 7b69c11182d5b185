package nodes

import (
	"context"
	"time"

	"github.com/authd/authd/engine"
)

// OTPRegistrationConfig are the settings of an otp_registration node.
type OTPRegistrationConfig struct {
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
		Config:      func() any { return &OTPRegistrationConfig{Algorithm: "SHA1", Digits: 6, Period: "30s"} },
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
		return &OTPRegistrationConfig{Algorithm: "SHA1", Digits: 6, Period: "30s"}
	})
	var ws []*engine.SettingError
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
	return &otpRegistration{issuer: c.Issuer, algorithm: c.Algorithm, digits: c.Digits, period: period}, nil
}

// otpRegistration creates a TOTP secret for the user, shows it as an
// otpauth:// URI and QR code, and keeps the token only once the user
// confirms one code. A QR code cannot be shown over RADIUS. The runtime
// comes with the OTP issue.
type otpRegistration struct {
	issuer, algorithm string
	digits            int
	period            time.Duration
}

// Process implements engine.Node.
func (n *otpRegistration) Process(context.Context, *engine.Context) (engine.Result, error) {
	return engine.Result{}, errNotAvailable("otp_registration")
}

var _ engine.Node = (*otpRegistration)(nil)
