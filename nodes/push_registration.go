package nodes

import (
	"context"
	"fmt"
	"strings"
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

// pushRegistration shows an enrolment URI (a `qr` callback, which web
// front ends draw as a QR code, and the URI itself on the JSON API) and
// waits for the device to enrol through the push API: success once it
// has, timeout when the one-time code expired unused, failure when the
// realm's enrollment_mode refuses another device (single_device and the
// user has one) or the user left. The code, its id and URI live in the
// node's session data between polls; the enrolment endpoint wakes the
// session, so a waiting page moves on as soon as the phone is done.
type pushRegistration struct {
	issuer  string
	timeout time.Duration
	message map[string]string
}

// Callback ids of push_registration.
const (
	pushRegQR   = "qr"
	pushRegText = "message"
	pushRegWait = "wait"
	// pushRegPoll is how often a client that does not hold the request
	// comes back to see whether the phone enrolled.
	pushRegPoll = 3
)

const defaultPushRegistrationMessage = "Scan the QR code with your authenticator app to register this device for {{issuer}}."

// Process implements engine.Node.
func (n *pushRegistration) Process(ctx context.Context, nc *engine.Context) (engine.Result, error) {
	svc, err := pushService(nc)
	if err != nil {
		return engine.Result{}, err
	}
	user, realm, now := nc.UserName(), realmName(nc), nc.Now()
	if user == "" {
		return engine.Result{Outcome: "failure", Reason: "no user is known"}, nil
	}
	id, uri, _ := strings.Cut(nc.Data(), "\n")
	if !nc.Resumed() || id == "" {
		if nc.Realm != nil && nc.Realm.EnrollmentMode == "single_device" {
			has, err := svc.HasDevice(ctx, realm, user)
			if err != nil {
				return engine.Result{}, err
			}
			if has {
				nc.SetData("")
				return engine.Result{Outcome: "failure", Reason: "enrollment_mode single_device: the user already has a device"}, nil
			}
		}
		iss := n.issuer
		if iss == "" {
			iss = issuer(nc)
		}
		r := nc.Realm
		if r == nil {
			r = &engine.Realm{Name: realm}
		}
		t, err := svc.BeginEnrollment(ctx, &engine.EnrollmentRequest{
			Realm: r, User: user, SessionID: nc.Session.ID, Issuer: iss,
			Now: now, Expires: now.Add(n.timeout),
		})
		if err != nil {
			return engine.Result{}, fmt.Errorf("issuing an enrolment code: %w", err)
		}
		nc.SetData(t.ID + "\n" + t.URI)
		return engine.Ask(n.callbacks(nc, t.URI)...), nil
	}
	if a, _ := nc.Answer(pushRegWait); a == "exit" {
		nc.SetData("")
		return engine.Result{Outcome: "failure", Reason: "the user left the registration"}, nil
	}
	st, err := svc.EnrollmentStatus(ctx, realm, user, id, now)
	if err != nil {
		return engine.Result{}, fmt.Errorf("reading the enrolment: %w", err)
	}
	switch st.State {
	case engine.EnrollmentPending:
		return engine.Ask(n.callbacks(nc, uri)...), nil
	case engine.EnrollmentDone:
		nc.SetData("")
		nc.Log().Info("push device registered")
		return engine.Result{Outcome: "success", Reason: "device registered"}, nil
	case engine.EnrollmentExpired:
		nc.SetData("")
		return engine.Result{Outcome: "timeout", Reason: "the enrolment code expired unused"}, nil
	default:
		nc.SetData("")
		reason := st.Reason
		if reason == "" {
			reason = st.State
		}
		return engine.Result{Outcome: "failure", Reason: "enrolment " + reason}, nil
	}
}

func (n *pushRegistration) callbacks(nc *engine.Context, uri string) []engine.Callback {
	msg := defaultPushRegistrationMessage
	if len(n.message) > 0 {
		msg = localize(n.message, nc)
	}
	return []engine.Callback{
		{Type: engine.CallbackText, ID: pushRegText, Message: expand(msg, nc)},
		{Type: engine.CallbackQR, ID: pushRegQR, URI: uri, Prompt: "QR code to scan with the authenticator app"},
		{Type: engine.CallbackWait, ID: pushRegWait, Seconds: pushRegPoll, Exit: true},
	}
}

var _ engine.Node = (*pushRegistration)(nil)
