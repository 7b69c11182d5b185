package nodes

import (
	"context"

	"github.com/authd/authd/engine"
)

// MFARegistrationOptionsConfig are the settings of an
// mfa_registration_options node.
type MFARegistrationOptionsConfig struct {
	// GetApp offers a link to the authenticator app (default true), which
	// adds the get_app outcome.
	GetApp bool `hcl:"get_app,optional"`
	// Mandatory makes registration compulsory (default false): it removes
	// the skip and opt_out outcomes.
	Mandatory bool `hcl:"mandatory,optional"`
	// AllowSkip offers "not now" (default true unless mandatory), which
	// adds the skip outcome; opt_out stays unless mandatory.
	AllowSkip *bool `hcl:"allow_skip,optional"`
	// Message is the localised text above the options.
	Message map[string]string `hcl:"message,optional"`
}

func newMFARegistrationOptionsConfig() *MFARegistrationOptionsConfig {
	return &MFARegistrationOptionsConfig{GetApp: true}
}

func init() {
	engine.Register(&engine.NodeType{
		Name:        "mfa_registration_options",
		Summary:     "offers to register a device, get the app, skip for now or opt out",
		Config:      func() any { return newMFARegistrationOptionsConfig() },
		Outcomes:    mfaRegistrationOptionsOutcomes,
		New:         newMFARegistrationOptions,
		Interactive: true,
		Requires:    []engine.Fact{engine.FactUser},
		Provides:    providesNothing,
		StateKeys:   noStateKeys,
		Warnings:    mfaRegistrationOptionsWarnings,
	})
}

// mfaRegistrationOptionsOutcomes: register always; get_app with get_app;
// skip unless mandatory or allow_skip = false; opt_out unless mandatory.
func mfaRegistrationOptionsOutcomes(cfg any) []engine.Outcome {
	c := settingsOr(cfg, newMFARegistrationOptionsConfig)
	out := outcomes("register")
	if c.GetApp {
		out = append(out, "get_app")
	}
	if !c.Mandatory {
		if c.AllowSkip == nil || *c.AllowSkip {
			out = append(out, "skip")
		}
		out = append(out, "opt_out")
	}
	return out
}

func mfaRegistrationOptionsWarnings(cfg any) []*engine.SettingError {
	c := settingsOr(cfg, newMFARegistrationOptionsConfig)
	if c.Mandatory && c.AllowSkip != nil && *c.AllowSkip {
		return []*engine.SettingError{warning("allow_skip", "has no effect: mandatory = true removes skip and opt_out")}
	}
	return nil
}

func newMFARegistrationOptions(cfg any) (engine.Node, error) {
	c, err := settings[MFARegistrationOptionsConfig](cfg)
	if err != nil {
		return nil, err
	}
	var p problems
	checkLocalized("message", c.Message, &p)
	if err := p.err(); err != nil {
		return nil, err
	}
	return &mfaRegistrationOptions{options: mfaRegistrationOptionsOutcomes(c), message: c.Message}, nil
}

// mfaRegistrationOptions asks the user what to do about a missing second
// factor with a `choice` callback among its outcomes (register, get_app,
// skip, opt_out, as the settings allow) and leaves by the one chosen. An
// answer matches an option exactly, ignoring case, or by its 1-based
// position (over RADIUS the user types it); anything else, blank included,
// asks again.
type mfaRegistrationOptions struct {
	options []engine.Outcome
	message map[string]string
}

const defaultMFARegistrationMessage = "Protect your {{issuer}} account with a second factor."

// Process implements engine.Node.
func (n *mfaRegistrationOptions) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	opts := make([]string, len(n.options))
	for i, o := range n.options {
		opts[i] = string(o)
	}
	if nc.Resumed() {
		ans, _ := nc.Answer(choiceID)
		if o, ok := (&choice{options: opts}).match(ans); ok {
			return engine.Result{Outcome: engine.Outcome(o), Reason: "the user chose " + o}, nil
		}
	}
	msg := defaultMFARegistrationMessage
	if len(n.message) > 0 {
		msg = localize(n.message, nc)
	}
	return engine.Ask(engine.Callback{Type: engine.CallbackChoice, ID: choiceID, Prompt: expand(msg, nc), Options: opts}), nil
}

var _ engine.Node = (*mfaRegistrationOptions)(nil)
