package nodes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

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

// pushSender sends a push to the user's devices and records its message
// id (state.push_message_id) and state.mfa_method = "push" before leaving
// by sent, so a resume or a retransmitted request never sends twice. A
// user without a live device leaves by not_registered (writing
// state.mfa_method = "push", so mfa_registration_options knows what to
// register), or by skipped when the user opted out of push MFA and the
// node allows skipping. With capture_failure a failed send leaves by
// failure and writes state.push_failure_reason; without it the failure is
// a fault that ends the journey.
//
// The push expires after message_timeout, but never after the session:
// nobody could use an answer that arrives later.
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
func (n *pushSender) Process(ctx context.Context, nc *engine.Context) (engine.Result, error) {
	svc, err := pushService(nc)
	if err != nil {
		return engine.Result{}, err
	}
	user, realm, now := nc.UserName(), realmName(nc), nc.Now()
	if user == "" {
		return n.failed(nc, engine.PushReasonMissingUsername, errors.New("no user is known at this point of the journey"))
	}
	if id := stateString(nc, statePushMessageID); id != "" {
		st, err := svc.PushStatus(ctx, realm, user, id, now)
		switch {
		case err == nil && st.State == engine.PushPending:
			return n.failed(nc, engine.PushReasonSenderAlreadyUsed, errors.New("this journey's previous push is still pending"))
		case err != nil && engine.PushErrorReason(err) != engine.PushReasonNotFound:
			return n.failed(nc, engine.PushReasonStoreError, err)
		}
		nc.DeleteState(statePushMessageID)
	}
	has, err := svc.HasDevice(ctx, realm, user)
	if err != nil {
		return n.failed(nc, engine.PushReasonStoreError, err)
	}
	if !has {
		return n.notRegistered(nc)
	}
	custom, err := n.custom(nc)
	if err != nil {
		return n.failed(nc, engine.PushReasonTransmissionFailure, err)
	}
	expires := now.Add(n.timeout)
	if n.timeout == 0 || (!nc.Session.Expires.IsZero() && nc.Session.Expires.Before(expires)) {
		expires = nc.Session.Expires
	}
	req := &engine.PushRequest{
		Realm:     nc.Realm,
		User:      user,
		SessionID: nc.Session.ID,
		Type:      n.pushType,
		Message:   expand(localize(n.message, nc), nc),
		Custom:    custom,
		Issuer:    issuer(nc),
		Now:       now,
		Expires:   expires,
	}
	if req.Realm == nil {
		req.Realm = &engine.Realm{Name: realm}
	}
	if m := nc.Session.Origin.Message; m != "" {
		req.Message = m // an api_client's secure message (protocols/api portal.go)
	}
	if n.shareContext {
		req.Context = n.context(nc)
	}
	t, err := svc.Send(ctx, req)
	if err != nil {
		if engine.PushErrorReason(err) == engine.PushReasonNotRegistered {
			return n.notRegistered(nc)
		}
		reason := engine.PushErrorReason(err)
		switch reason {
		case engine.PushReasonStoreError, engine.PushReasonMissingUsername, engine.PushReasonSenderAlreadyUsed:
		default:
			// Too many pending pushes, a provider outage, anything else:
			// the push did not go out.
			reason = engine.PushReasonTransmissionFailure
		}
		return n.failed(nc, reason, err)
	}
	nc.SetState(statePushMessageID, cty.StringVal(t.MessageID))
	nc.SetState(stateMFAMethod, cty.StringVal("push"))
	nc.DeleteState(statePushFailureReason)
	nc.Log().Info("push sent", "type", n.pushType, "devices", t.Devices, "expires", t.Expires)
	return engine.Result{Outcome: "sent", Reason: "push sent"}, nil
}

// notRegistered leaves by skipped for a user who opted out with
// opt_out_mfa (user attribute OptOutAttribute = "true") when the node
// offers skipped, else by not_registered.
func (n *pushSender) notRegistered(nc *engine.Context) (engine.Result, error) {
	nc.SetState(stateMFAMethod, cty.StringVal("push"))
	if !n.removeSkip {
		if u, err := nc.User(); err == nil && strings.EqualFold(u.Attributes[OptOutAttribute], "true") {
			return engine.Result{Outcome: "skipped", Reason: "the user opted out of push MFA"}, nil
		}
	}
	return engine.Result{Outcome: "not_registered", Reason: "the user has no push device"}, nil
}

// failed leaves by failure with capture_failure, else ends the journey
// with a fault. err is logged, never shown.
func (n *pushSender) failed(nc *engine.Context, reason string, err error) (engine.Result, error) {
	if !n.captureFailure {
		return engine.Result{}, fmt.Errorf("push not sent (%s): %w", reason, err)
	}
	nc.SetState(statePushFailureReason, cty.StringVal(reason))
	nc.Log().Warn("push not sent", "reason", reason, "err", err)
	return engine.Result{Outcome: "failure", Reason: "push not sent: " + reason}, nil
}

// context is what share_context sends: the client's address and user
// agent (as device_profile recorded them, else as the request says) and
// the location when one is known.
func (n *pushSender) context(nc *engine.Context) map[string]string {
	r := request(nc)
	out := map[string]string{}
	ip, ua := stateString(nc, "device_ip"), stateString(nc, "device_user_agent")
	if ip == "" {
		ip = r.ClientIP
	}
	if ua == "" {
		ua = r.UserAgent
	}
	if ip != "" {
		out["ip"] = ip
	}
	if ua != "" {
		out["user_agent"] = ua
	}
	if loc := stateString(nc, "device_location"); loc != "" {
		out["location"] = loc
	}
	if r.Protocol != "" {
		out["protocol"] = r.Protocol
	}
	return out
}

// custom encodes the custom_payload state values as one JSON object; a
// key not in state is sent as null. Over engine.MaxPushCustomPayload it
// is an error that says so.
func (n *pushSender) custom(nc *engine.Context) (json.RawMessage, error) {
	if len(n.customPayload) == 0 {
		return nil, nil
	}
	obj := make(map[string]json.RawMessage, len(n.customPayload))
	for _, k := range n.customPayload {
		v, _ := nc.State(k).UnmarkDeep()
		if v.IsNull() || !v.IsWhollyKnown() {
			obj[k] = json.RawMessage("null")
			continue
		}
		b, err := ctyjson.Marshal(v, v.Type())
		if err != nil {
			return nil, fmt.Errorf("custom_payload: state %s cannot be sent as JSON: %v", k, err)
		}
		obj[k] = b
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("custom_payload: %v", err)
	}
	if len(b) > engine.MaxPushCustomPayload {
		return nil, fmt.Errorf("custom_payload is %d bytes of JSON, over the limit of %d bytes (3 KB): send fewer or shorter state values", len(b), engine.MaxPushCustomPayload)
	}
	return b, nil
}

// pushService returns the push service, or a fault when none is wired.
func pushService(nc *engine.Context) (engine.PushService, error) {
	if nc.Services == nil || nc.Services.Push == nil {
		return nil, errors.New("push is not available: no push service is configured")
	}
	return nc.Services.Push, nil
}

// stateString reads a string from shared state ("" when absent or not a
// string).
func stateString(nc *engine.Context, key string) string {
	v, _ := nc.State(key).UnmarkDeep()
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return ""
	}
	return v.AsString()
}

var _ engine.Node = (*pushSender)(nil)
