package nodes

import (
	"context"
	"time"

	"github.com/authd/authd/engine"
)

// PushSenderConfig are the settings of a push_sender node.
type PushSenderConfig struct {
	// MessageTimeout is how long the push can be answered (default "120s";
	// "0" never expires, with a warning).
	MessageTimeout string `hcl:"message_timeout,optional"`
	// PushType is tap (approve/deny, the default), challenge (the user
	// picks the number shown at login among three) or biometric (the app
	// asks for a biometric check before approving).
	PushType string `hcl:"push_type,optional"`
	// UserMessage is the localised text on the phone; {{user}} and
	// {{issuer}} expand. Default: { en = "Login attempt from {{user}} at {{issuer}}" }.
	UserMessage map[string]string `hcl:"user_message,optional"`
	// ShareContext adds the remote IP, user agent and location to the
	// payload, so the user can tell their own login from someone else's.
	ShareContext bool `hcl:"share_context,optional"`
	// CustomPayload lists shared-state keys whose values ride along in the
	// payload (3 KB at most in all).
	CustomPayload []string `hcl:"custom_payload,optional"`
	// RemoveSkip removes the skipped outcome, so a user cannot skip.
	RemoveSkip bool `hcl:"remove_skip,optional"`
	// CaptureFailure adds the failure outcome for a send that failed;
	// without it such a failure is a fault that ends the journey.
	CaptureFailure bool `hcl:"capture_failure,optional"`
}

// Default values of push_sender settings.
const (
	defaultPushTimeout = "120s"
	defaultPushType    = "tap"
	defaultPushMessage = "Login attempt from {{user}} at {{issuer}}"
	maxCustomPayload   = 16
)

// State keys push_sender writes.
const (
	statePushMessageID     = "push_message_id"     // id of the outstanding push
	statePushFailureReason = "push_failure_reason" // why a send failed (with capture_failure)
	stateMFAMethod         = "mfa_method"          // "push" once sent
)

func newPushSenderConfig() *PushSenderConfig {
	return &PushSenderConfig{MessageTimeout: defaultPushTimeout, PushType: defaultPushType}
}

func init() {
	engine.Register(&engine.NodeType{
		Name:      "push_sender",
		Summary:   "sends a push notification to the user's registered device",
		Config:    func() any { return newPushSenderConfig() },
		Outcomes:  pushSenderOutcomes,
		New:       newPushSender,
		Requires:  []engine.Fact{engine.FactUser},
		Provides:  providesOn("sent", engine.FactPushSent),
		StateKeys: fixedStateKeys(statePushMessageID, statePushFailureReason, stateMFAMethod),
		Warnings:  pushSenderWarnings,
	})
}

// pushSenderOutcomes: sent and not_registered always; skipped unless
// remove_skip; failure only with capture_failure (as in PingAM).
func pushSenderOutcomes(cfg any) []engine.Outcome {
	c := settingsOr(cfg, newPushSenderConfig)
	out := outcomes("sent", "not_registered")
	if !c.RemoveSkip {
		out = append(out, "skipped")
	}
	if c.CaptureFailure {
		out = append(out, "failure")
	}
	return out
}

// Timeout is the push's lifetime from the settings (0: never expires);
// dsl compares it with RADIUS clients' timeouts. An invalid setting reads
// as the default.
func (c *PushSenderConfig) Timeout() time.Duration {
	s := c.MessageTimeout
	if s == "" {
		s = defaultPushTimeout
	}
	d, err := ParseDuration(s)
	if err != nil {
		d, _ = ParseDuration(defaultPushTimeout)
	}
	return d
}

func pushSenderWarnings(cfg any) []*engine.SettingError {
	c := settingsOr(cfg, newPushSenderConfig)
	if d, err := ParseDuration(c.MessageTimeout); err == nil && d == 0 {
		return []*engine.SettingError{warning("message_timeout", "\"0\" never expires: an unanswered push stays approvable until the session ends; give a lifetime such as \"120s\"")}
	}
	return nil
}

func newPushSender(cfg any) (engine.Node, error) {
	c, err := settings[PushSenderConfig](cfg)
	if err != nil {
		return nil, err
	}
	var p problems
	timeout, terr := durationSetting("message_timeout", c.MessageTimeout, true, time.Second, 24*time.Hour)
	p.addErr(terr)
	checkOneOf(&p, "push_type", c.PushType, "tap", "challenge", "biometric")
	checkLocalized("user_message", c.UserMessage, &p)
	if len(c.CustomPayload) > maxCustomPayload {
		p.add("custom_payload", "at most %d state keys", maxCustomPayload)
	}
	seen := map[string]bool{}
	for _, k := range c.CustomPayload {
		switch {
		case !validName(k):
			p.add("custom_payload", "%q is not a state key name", k)
		case seen[k]:
			p.add("custom_payload", "%q is listed twice", k)
		}
		seen[k] = true
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	msg := c.UserMessage
	if len(msg) == 0 {
		msg = map[string]string{"en": defaultPushMessage}
	}
	return &pushSender{
		timeout:        timeout,
		pushType:       c.PushType,
		message:        msg,
		shareContext:   c.ShareContext,
		customPayload:  append([]string(nil), c.CustomPayload...),
		removeSkip:     c.RemoveSkip,
		captureFailure: c.CaptureFailure,
	}, nil
}

// pushSender sends a push to the user's device and records its message id
// (state.push_message_id) and state.mfa_method = "push" before leaving by
// sent, so a resume or a retransmitted request never sends twice. A user
// without a device leaves by not_registered (or skipped, when the user may
// skip). With capture_failure a failed send leaves by failure and writes
// state.push_failure_reason. The runtime comes with the push issue.
type pushSender struct {
	timeout        time.Duration
	pushType       string
	message        map[string]string
	shareContext   bool
	customPayload  []string
	removeSkip     bool
	captureFailure bool
}

// Process implements engine.Node.
func (n *pushSender) Process(context.Context, *engine.Context) (engine.Result, error) {
	return engine.Result{}, errNotAvailable("push_sender")
}

var _ engine.Node = (*pushSender)(nil)
