package engine

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// PushService is what the push nodes need of the push subsystem (devices,
// providers, pending pushes). It is an interface here so nodes depend on
// engine alone; protocols/push implements it over the store and the
// configured providers, and node tests use fakes.
//
// Every method takes the engine's reading of the clock (now) rather than
// reading one itself, so journeys run on a fake clock in tests and
// `authd test` behave exactly like served ones.
type PushService interface {
	// HasDevice reports whether the user has at least one live (not
	// unregistered) push device in the realm, so nodes such as
	// otp_or_push and mfa_registration_options can tell "not enrolled"
	// without sending anything.
	HasDevice(ctx context.Context, realm, user string) (bool, error)
	// Send creates a pending push for the user and delivers its
	// notification to every live device. A failure is a *PushError whose
	// Reason says which outcome the node takes.
	Send(ctx context.Context, p *PushRequest) (*PushTicket, error)
	// PushStatus reads the state of a push this session sent. A push of
	// another user or realm reads as not found (a *PushError with
	// PushReasonNotFound), so a forged message id learns nothing.
	PushStatus(ctx context.Context, realm, user, messageID string, now time.Time) (*PushStatus, error)
	// CancelPush withdraws a pending push (the user left the wait), so a
	// later tap on the phone cannot approve a login nobody waits for.
	// Cancelling a push that is no longer pending does nothing.
	CancelPush(ctx context.Context, realm, user, messageID string, now time.Time) error
	// BeginEnrollment issues a one-time enrolment code for a new device of
	// the user and returns the URI the device scans.
	BeginEnrollment(ctx context.Context, e *EnrollmentRequest) (*EnrollmentTicket, error)
	// EnrollmentStatus reads how an enrolment this session began stands.
	EnrollmentStatus(ctx context.Context, realm, user, id string, now time.Time) (*EnrollmentStatus, error)
}

// Push types (push_sender's push_type).
const (
	PushTap       = "tap"       // approve or deny
	PushChallenge = "challenge" // pick, among three numbers, the one shown at login
	PushBiometric = "biometric" // the app asks for a biometric check before approving
)

// PushRequest is one push a push_sender asks for.
type PushRequest struct {
	Realm *Realm
	User  string
	// SessionID is the session that waits for the answer; the answer
	// wakes it (Engine.Wake). It is never shown to the device.
	SessionID string
	Type      string // PushTap, PushChallenge or PushBiometric
	// Message is the text on the phone, already localised and expanded.
	Message string
	// Context (client IP, user agent, location) rides along when the node
	// shares it, so the user can tell their own login from an attacker's.
	Context map[string]string
	// Custom is a JSON object of the shared-state values the node's
	// custom_payload names; its size is bounded by MaxPushCustomPayload.
	Custom json.RawMessage
	Issuer string
	Now    time.Time
	// Expires is when the push can no longer be answered.
	Expires time.Time
}

// MaxPushCustomPayload bounds push_sender's custom_payload (3 KB, the
// limit PingAM and the push services leave room for).
const MaxPushCustomPayload = 3 * 1024

// PushTicket describes a push that was sent.
type PushTicket struct {
	MessageID string
	// ChallengeNumber is the number to show at login for challenge pushes
	// (0 otherwise).
	ChallengeNumber int
	Expires         time.Time
	// Devices is how many devices the notification reached.
	Devices int
}

// Push states, as PushStatus reports them.
const (
	PushPending  = "pending"  // no answer yet
	PushApproved = "approved" // approved (with the right number for challenge pushes)
	PushDenied   = "denied"   // denied, reported, answered with the wrong number, or cancelled
	PushExpired  = "expired"  // nobody answered in time
)

// PushStatus is how a push stands.
type PushStatus struct {
	State string
	// Reason details a denial: "denied", "reported" (the user said it was
	// not them), "wrong_number", "cancelled".
	Reason          string
	ChallengeNumber int
	Expires         time.Time
	// Device names the device that answered, if any.
	Device string
}

// EnrollmentRequest asks for a device enrolment code.
type EnrollmentRequest struct {
	Realm     *Realm
	User      string
	SessionID string
	// Issuer labels the account in the app.
	Issuer  string
	Now     time.Time
	Expires time.Time
}

// EnrollmentTicket is an enrolment code as the user sees it.
type EnrollmentTicket struct {
	ID string
	// URI carries the server's public URL, the realm, the enrolment id and
	// the one-time secret; a QR code of it is what the phone scans.
	URI     string
	Expires time.Time
}

// Enrolment states.
const (
	EnrollmentPending  = "pending"  // the device has not enrolled yet
	EnrollmentDone     = "enrolled" // a device enrolled with the code
	EnrollmentRefused  = "refused"  // the realm's enrollment_mode refused another device
	EnrollmentExpired  = "expired"  // the code timed out unused
	EnrollmentNotFound = "not_found"
)

// EnrollmentStatus is how an enrolment stands.
type EnrollmentStatus struct {
	State  string
	Reason string
	Device string // the enrolled device's id
}

// Reasons of a *PushError. The node maps them to outcomes; the reasons
// that push_sender writes to state.push_failure_reason are PingAM's.
const (
	PushReasonNotRegistered       = "NOT_REGISTERED"       // no live device
	PushReasonMissingUsername     = "MISSING_USERNAME"     // no user established
	PushReasonSenderAlreadyUsed   = "SENDER_ALREADY_USED"  // this session's push is still outstanding
	PushReasonStoreError          = "STORE_ERROR"          // reading or writing the store failed
	PushReasonTransmissionFailure = "TRANSMISSION_FAILURE" // no provider took the notification
	PushReasonTooManyPending      = "TOO_MANY_PENDING"     // the user already has the maximum of pending pushes
	PushReasonNotFound            = "NOT_FOUND"            // no such push (or enrolment) for this user
	PushReasonRefused             = "REFUSED"              // enrollment_mode refuses another device
)

// PushError is a push or enrolment that could not be done. Err holds the
// cause for the log; it never contains keys, tokens or secrets.
type PushError struct {
	Reason string
	Err    error
}

func (e *PushError) Error() string {
	if e.Err == nil {
		return "push: " + e.Reason
	}
	return "push: " + e.Reason + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *PushError) Unwrap() error { return e.Err }

// PushErrorReason returns the Reason of a *PushError in err's chain, or ""
// when err is not one.
func PushErrorReason(err error) string {
	var pe *PushError
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return ""
}
