package nodes

import (
	"context"
	"time"

	"github.com/authd/authd/engine"
)

// PushRegistrationConfig are the settings of a push_registration node.
type PushRegistrationConfig struct {
	// Issuer labels the account in the app (default: the realm's display name).
	Issuer string `hcl:"issuer,optional"`
	// Timeout is how long the enrolment QR code stays valid (default "120s").
	Timeout string `hcl:"timeout,optional"`
	// Message is the localised text shown beside the QR code.
	Message map[string]string `hcl:"message,optional"`
}

func newPushRegistrationConfig() *PushRegistrationConfig {
	return &PushRegistrationConfig{Timeout: "120s"}
}

func init() {
	engine.Register(&engine.NodeType{
		Name:        "push_registration",
		Summary:     "enrols a push device (QR code / URI), honouring the realm's enrollment_mode",
		Config:      func() any { return newPushRegistrationConfig() },
		Outcomes:    engine.FixedOutcomes("success", "failure", "timeout"),
		New:         newPushRegistration,
		Interactive: true,
		NotOver:     []string{engine.FrontendRADIUS},
		Requires:    []engine.Fact{engine.FactUser},
		Provides:    providesNothing,
		StateKeys:   noStateKeys,
	})
}

func newPushRegistration(cfg any) (engine.Node, error) {
	c, err := settings[PushRegistrationConfig](cfg)
	if err != nil {
		return nil, err
	}
	var p problems
	timeout, terr := durationSetting("timeout", c.Timeout, false, 10*time.Second, time.Hour)
	p.addErr(terr)
	checkLocalized("message", c.Message, &p)
	if err := p.err(); err != nil {
		return nil, err
	}
	return &pushRegistration{issuer: c.Issuer, timeout: timeout, message: c.Message}, nil
}

// pushRegistration shows an enrolment URI and QR code and waits for the
// device to enrol through the push API: success once it has, timeout when
// the code expired unused, failure when the realm's enrollment_mode
// refuses another device. A QR code cannot be shown over RADIUS. The
// runtime comes with the push issue.
type pushRegistration struct {
	issuer  string
	timeout time.Duration
	message map[string]string
}

// Process implements engine.Node.
func (n *pushRegistration) Process(context.Context, *engine.Context) (engine.Result, error) {
	return engine.Result{}, errNotAvailable("push_registration")
}

var _ engine.Node = (*pushRegistration)(nil)
