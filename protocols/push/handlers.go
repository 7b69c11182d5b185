package push

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/devices"
	"github.com/authd/authd/engine/metrics"
	"github.com/authd/authd/protocols/push/wire"
)

// maxBodyBytes bounds a device request body; a token is under 2 KB.
const maxBodyBytes = 16 << 10

// Limits on what a device may tell about itself at enrolment.
const (
	maxPushToken = 4096
	maxName      = 128
	maxAppID     = 256
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, wire.Error{Error: code, Message: msg})
}

// readBody decodes one JSON object of at most maxBodyBytes, refusing
// unknown fields.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeErr(w, http.StatusBadRequest, "invalid_request", "Content-Type must be application/json")
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_request", "request body too large or unreadable")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil || dec.More() {
		writeErr(w, http.StatusBadRequest, "invalid_request", "the body must be one JSON object with the documented fields")
		return false
	}
	return true
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// audienceOK accepts the URL the device enrolled with and the current
// public URL (which may have changed since).
func (s *Service) audienceOK(aud, enrolled string) bool {
	aud = strings.TrimRight(aud, "/")
	if aud == "" {
		return false
	}
	return aud == strings.TrimRight(enrolled, "/") || aud == s.PublicURL()
}

// detailWrongDevice marks, in a rejection's detail, an answer from a device
// the push was not sent to: the device is told unknown_push (nothing about
// a push not its own), the audit entry and the metric say what it was.
const detailWrongDevice = "wrong device"

// rejected records a refused device request (a log line and an audit
// entry of kind push_rejected) and answers it. attrs are key/value pairs;
// "realm", "user", "device" and "message" go to the audit entry's fields.
func (s *Service) rejected(w http.ResponseWriter, r *http.Request, status int, code, msg string, attrs ...any) {
	s.log.Warn("push device request rejected", append([]any{
		"event", "push.answer_rejected", "path", r.URL.Path, "why", code, "client_ip", clientIP(r),
	}, attrs...)...)
	e := audit.Entry{Kind: audit.KindPushRejected, Frontend: "push", Client: clientIP(r), Result: audit.ResultRejected,
		Reason: msg, Detail: map[string]string{"why": code, "endpoint": r.URL.Path}}
	for i := 0; i+1 < len(attrs); i += 2 {
		k, _ := attrs[i].(string)
		v := fmt.Sprint(attrs[i+1])
		switch k {
		case "realm":
			e.Realm = v
		case "user":
			e.User = v
		default:
			e.Detail[k] = v
		}
	}
	why := code
	if e.Detail["detail"] == detailWrongDevice {
		why = "wrong_device" // the device hears unknown_push; the metric tells
	}
	metrics.PushRejected(why)
	s.audit.Log(r.Context(), e)
	writeErr(w, status, code, msg)
}

// handleEnroll is POST /api/v1/push/enroll.
func (s *Service) handleEnroll(w http.ResponseWriter, r *http.Request) {
	var in wire.EnrollRequest
	if !readBody(w, r, &in) {
		return
	}
	now := s.clock.Now()
	tok, err := wire.Parse(in.Request)
	if err != nil || tok.Claims.Use != wire.UseEnroll {
		s.rejected(w, r, http.StatusBadRequest, "invalid_token", "request must be an ES256 enrol token")
		return
	}
	c := &tok.Claims
	der, err := base64.RawURLEncoding.DecodeString(c.Key)
	if err != nil {
		s.rejected(w, r, http.StatusBadRequest, "invalid_key", "key must be base64url PKIX DER")
		return
	}
	pub, err := wire.ParsePublicKey(der)
	if err != nil {
		s.rejected(w, r, http.StatusBadRequest, "invalid_key", err.Error())
		return
	}
	if err := tok.Verify(pub); err != nil {
		s.rejected(w, r, http.StatusUnauthorized, "bad_signature", "the token is not signed by the key it carries")
		return
	}
	if err := c.CheckTime(now); err != nil {
		s.rejected(w, r, http.StatusUnauthorized, "invalid_token", err.Error())
		return
	}
	e, err := s.store.Enrollment(c.Enrollment, now)
	if errors.Is(err, devices.ErrNotFound) {
		s.rejected(w, r, http.StatusNotFound, "unknown_enrollment", "no such enrolment code")
		return
	}
	if err != nil {
		s.fault(w, r, err)
		return
	}
	if !s.audienceOK(c.Audience, e.ServerURL) {
		s.rejected(w, r, http.StatusUnauthorized, "invalid_audience", "aud must be the server URL of the enrolment URI", "enrollment", short(e.ID))
		return
	}
	provider, ok := e.Providers[c.Platform]
	if !ok {
		s.rejected(w, r, http.StatusBadRequest, "unsupported_platform", "the realm offers no push provider for platform "+strconv.Quote(c.Platform), "enrollment", short(e.ID))
		return
	}
	if (c.Platform == devices.PlatformAPNs || c.Platform == devices.PlatformFCM) && c.PushToken == "" {
		writeErr(w, http.StatusBadRequest, "invalid_request", "push_token is required for platform "+c.Platform)
		return
	}
	if len(c.PushToken) > maxPushToken || len(c.Name) > maxName || len(c.AppID) > maxAppID {
		writeErr(w, http.StatusBadRequest, "invalid_request", "push_token, name or app_id is too long")
		return
	}
	dev := &devices.Device{
		ID: devices.NewID(15), Name: c.Name, Platform: c.Platform, Provider: provider,
		PushToken: c.PushToken, AppID: c.AppID, PublicKey: der, ServerURL: e.ServerURL,
	}
	badProof := errors.New("bad proof")
	done, replaced, err := s.store.CompleteEnrollment(e.ID, now, func(st *devices.Enrollment) error {
		if !wire.CheckEnrollProof(st.Secret, st.ID, c.Key, c.Proof) {
			return badProof
		}
		return nil
	}, dev)
	switch {
	case err == nil:
	case errors.Is(err, badProof):
		s.rejected(w, r, http.StatusForbidden, "bad_proof", "the proof of the enrolment secret is wrong", "enrollment", short(e.ID), "realm", e.Realm, "user", e.User)
		return
	case errors.Is(err, devices.ErrRefused):
		s.log.Warn("enrolment refused by enrollment_mode", "event", "push.enrollment_refused", "realm", e.Realm, "user", e.User, "mode", e.Mode)
		s.audit.Log(r.Context(), audit.Entry{Kind: audit.KindEnrollment, Realm: e.Realm, User: e.User, Frontend: "push", Client: clientIP(r),
			Result: audit.ResultFailure, Reason: "push device refused: enrollment_mode " + e.Mode + " allows one device and the user has one",
			Session: short(e.SessionID), Detail: map[string]string{"platform": c.Platform}})
		s.wake(done.SessionID)
		writeErr(w, http.StatusConflict, "device_limit", "this realm allows one device per user and the user already has one")
		return
	case errors.Is(err, devices.ErrNotPending):
		s.rejected(w, r, http.StatusConflict, "used", "the enrolment code was already used", "enrollment", short(e.ID))
		return
	case errors.Is(err, devices.ErrExpired):
		s.rejected(w, r, http.StatusGone, "expired", "the enrolment code expired", "enrollment", short(e.ID))
		return
	default:
		s.fault(w, r, err)
		return
	}
	s.log.Info("push device enrolled", "event", "push.enrolled", "realm", done.Realm, "user", done.User,
		"device", dev.ID, "platform", dev.Platform, "provider", dev.Provider, "replaced", len(replaced), "client_ip", clientIP(r))
	detail := map[string]string{"device": dev.ID, "platform": dev.Platform, "provider": dev.Provider}
	reason := "push device enrolled"
	if len(replaced) > 0 {
		detail["replaced"] = strings.Join(replaced, ",")
		reason = fmt.Sprintf("push device enrolled, replacing %d (enrollment_mode %s)", len(replaced), done.Mode)
	}
	s.audit.Log(r.Context(), audit.Entry{Kind: audit.KindEnrollment, Realm: done.Realm, User: done.User, Frontend: "push",
		Client: clientIP(r), Result: audit.ResultSuccess, Reason: reason, Session: short(done.SessionID), Detail: detail})
	s.wake(done.SessionID)
	writeJSON(w, http.StatusOK, wire.EnrollResponse{DeviceID: dev.ID, Realm: done.Realm, User: done.User, Issuer: done.Issuer, Replaced: len(replaced)})
}

func (s *Service) fault(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("push endpoint", "path", r.URL.Path, "err", err)
	writeErr(w, http.StatusInternalServerError, "server_error", "internal error; see the server log")
}

// deviceToken parses and authenticates a device token: the device named
// by kid exists, signed it, and the claims fit use and now. On failure it
// has answered the request.
func (s *Service) deviceToken(w http.ResponseWriter, r *http.Request, raw, use string, now time.Time) (*wire.Token, *devices.Device, bool) {
	tok, err := wire.Parse(raw)
	if err != nil {
		s.rejected(w, r, http.StatusBadRequest, "invalid_token", "expected an ES256 device token")
		return nil, nil, false
	}
	id := tok.Kid
	if id == "" {
		id = tok.Claims.Issuer
	}
	dev, err := s.store.Device(id)
	if errors.Is(err, devices.ErrNotFound) {
		s.rejected(w, r, http.StatusUnauthorized, "unknown_device", "no such device (it may have been removed)", "device", short(id))
		return nil, nil, false
	}
	if err != nil {
		s.fault(w, r, err)
		return nil, nil, false
	}
	pub, err := wire.ParsePublicKey(dev.PublicKey)
	if err != nil {
		s.fault(w, r, err)
		return nil, nil, false
	}
	if err := tok.Verify(pub); err != nil {
		s.rejected(w, r, http.StatusUnauthorized, "bad_signature", "the signature does not verify with the device's key",
			"device", dev.ID, "realm", dev.Realm, "user", dev.User)
		return nil, nil, false
	}
	c := &tok.Claims
	switch {
	case c.Use != use:
		s.rejected(w, r, http.StatusUnauthorized, "invalid_token", "the token is not a "+use+" token", "device", dev.ID)
		return nil, nil, false
	case c.Issuer != "" && c.Issuer != dev.ID:
		s.rejected(w, r, http.StatusUnauthorized, "invalid_token", "iss and kid disagree", "device", dev.ID)
		return nil, nil, false
	case !s.audienceOK(c.Audience, dev.ServerURL):
		s.rejected(w, r, http.StatusUnauthorized, "invalid_audience", "aud must be this server's public URL", "device", dev.ID)
		return nil, nil, false
	}
	if err := c.CheckTime(now); err != nil {
		s.rejected(w, r, http.StatusUnauthorized, "invalid_token", err.Error(), "device", dev.ID)
		return nil, nil, false
	}
	return tok, dev, true
}

// handleRespond is POST /api/v1/push/respond.
func (s *Service) handleRespond(w http.ResponseWriter, r *http.Request) {
	var in wire.RespondRequest
	if !readBody(w, r, &in) {
		return
	}
	now := s.clock.Now()
	tok, dev, ok := s.deviceToken(w, r, in.Answer, wire.UseRespond, now)
	if !ok {
		return
	}
	c := &tok.Claims
	if c.Decision != wire.Approve && c.Decision != wire.Deny {
		s.rejected(w, r, http.StatusBadRequest, "invalid_request", `dec must be "approve" or "deny"`, "device", dev.ID)
		return
	}
	who := []any{"device", dev.ID, "realm", dev.Realm, "user", dev.User, "message", short(c.MessageID)}
	// decide is a pure function of the stored push: the store
	// transaction that writes the flip may run it again, possibly on the
	// resumed login's goroutine (see answer). The store has already
	// checked that the push went to this device (devices.Push.DecidableBy).
	decide := func(p *devices.Push) error {
		if p.Challenge != c.Challenge {
			return errWrongChallenge
		}
		p.AnsweredBy, p.AnsweredAt = dev.ID, now
		switch {
		case c.Decision == wire.Deny:
			p.State, p.Reason = devices.StateDenied, devices.ReasonDenied
			if c.Report {
				p.Reason, p.Suspicious = devices.ReasonReported, true
			}
		case p.Type == "challenge" && c.Number != p.Number:
			p.State, p.Reason = devices.StateDenied, devices.ReasonWrongNumber
		default:
			p.State, p.Reason = devices.StateApproved, ""
		}
		return nil
	}
	by := devices.Answerer{Realm: dev.Realm, User: dev.User, Device: dev.ID}
	p, woke, err := s.answer(c.MessageID, by, now, decide)
	switch {
	case err == nil:
	case errors.Is(err, devices.ErrNotFound):
		s.rejected(w, r, http.StatusNotFound, "unknown_push", "no such push", who...)
		return
	case errors.Is(err, devices.ErrNotAnswerer):
		// Same answer as an unknown push: a device learns nothing about
		// pushes that are not its own (not even whether they were
		// answered or expired: the store checks this first).
		s.rejected(w, r, http.StatusNotFound, "unknown_push", "no such push", append(who, "detail", detailWrongDevice)...)
		return
	case errors.Is(err, errWrongChallenge):
		s.rejected(w, r, http.StatusForbidden, "wrong_challenge", "the answer does not carry this push's challenge", who...)
		return
	case errors.Is(err, devices.ErrNotPending):
		s.rejected(w, r, http.StatusConflict, "already_answered", "the push was already answered, withdrawn or replayed", append(who, "state", p.State)...)
		return
	case errors.Is(err, devices.ErrExpired):
		s.wake(p.SessionID)
		metrics.PushAnswered(devices.StateExpired, now.Sub(p.Created))
		s.rejected(w, r, http.StatusGone, "expired", "the push expired", who...)
		return
	default:
		s.fault(w, r, err)
		return
	}
	// The flip is stored (and the device's last_used with it): wake the
	// journey first, unless answer already did, then do the rest.
	if !woke {
		s.wake(p.SessionID)
	}
	metrics.PushAnswered(p.State, now.Sub(p.Created))
	out := wire.RespondResponse{MessageID: p.ID, Status: p.State, Reason: p.Reason}
	switch {
	case p.Reason == devices.ReasonWrongNumber:
		s.rejected(w, r, http.StatusUnprocessableEntity, "wrong_number", "the number chosen is not the one shown at sign-in; the sign-in was refused", who...)
		return
	case p.Suspicious:
		s.log.Warn("push denied and reported as not the user's", "event", "push.reported", "client_ip", clientIP(r), "device", dev.ID, "realm", p.Realm, "user", p.User, "message", short(p.ID))
		detail := map[string]string{"device": dev.ID, "message": short(p.ID), "suspicious": "true"}
		for k, v := range p.Context {
			detail["login_"+k] = v
		}
		s.audit.Log(r.Context(), audit.Entry{Kind: audit.KindPushReported, Realm: p.Realm, User: p.User, Frontend: "push",
			Client: p.Context["ip"], Result: audit.ResultFailure, Session: short(p.SessionID),
			Reason: "push denied and reported by the user as not theirs: a suspicious sign-in attempt (the password may be known to someone else)",
			Detail: detail})
	default:
		s.log.Info("push answered", "event", "push.answered", "state", p.State, "latency_ms", now.Sub(p.Created).Milliseconds(), "client_ip", clientIP(r), "device", dev.ID, "realm", p.Realm, "user", p.User, "message", short(p.ID))
	}
	writeJSON(w, http.StatusOK, out)
}

// errWrongChallenge is decide's verdict on an answer that does not carry
// the push's challenge: rejected without a flip.
var errWrongChallenge = errors.New("answer without the push's challenge")

// handlePending is GET /api/v1/push/pending: the pushes pending for the
// signing device, with their details. ?wait=SECONDS (at most 30) waits
// for one when there is none yet.
func (s *Service) handlePending(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	raw, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="authd-device"`)
		writeErr(w, http.StatusUnauthorized, "unauthorized", "a signed device token is required (Authorization: Bearer ...)")
		return
	}
	now := s.clock.Now()
	tok, dev, ok := s.deviceToken(w, r, strings.TrimSpace(raw), wire.UsePending, now)
	if !ok {
		return
	}
	if !s.nonces.use(dev.ID+"\x00"+tok.Claims.Nonce, time.Unix(tok.Claims.Expires, 0), now) {
		s.rejected(w, r, http.StatusUnauthorized, "replayed", "this token was already used", "device", dev.ID)
		return
	}
	var wait time.Duration
	if v := r.URL.Query().Get("wait"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeErr(w, http.StatusBadRequest, "invalid_request", "wait must be a number of seconds")
			return
		}
		wait = min(time.Duration(n)*time.Second, maxPendingWait)
	}
	deadline := time.Now().Add(wait)
	for {
		woken := s.notify.wait(dev.Realm, dev.User)
		list, err := s.pendingFor(dev, s.clock.Now())
		if err != nil {
			s.fault(w, r, err)
			return
		}
		left := time.Until(deadline)
		if len(list) > 0 || left <= 0 {
			// No last_used write here: a fetch costs no commit (an
			// answer records last_used inside its flip).
			writeJSON(w, http.StatusOK, wire.PendingResponse{Pushes: list})
			return
		}
		t := time.NewTimer(left)
		select {
		case <-woken:
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
		t.Stop()
	}
}

func (s *Service) pendingFor(dev *devices.Device, now time.Time) ([]wire.PendingPush, error) {
	ps, err := s.store.Pending(dev.Realm, dev.User, now)
	if err != nil {
		return nil, err
	}
	out := []wire.PendingPush{}
	for _, p := range ps {
		if !p.SentTo(dev.ID) {
			continue
		}
		out = append(out, wire.PendingPush{
			MessageID: p.ID, Realm: p.Realm, User: p.User, Issuer: p.Issuer, Type: p.Type,
			Challenge: p.Challenge, Message: p.Message, Context: p.Context, Numbers: p.Numbers,
			Custom: p.Custom, Created: p.Created, Expires: p.Expires, ReplyURL: p.ReplyURL,
		})
	}
	return out, nil
}
