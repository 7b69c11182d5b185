package push_test

import (
	"context"
	"testing"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/devices"
	"github.com/authd/authd/protocols/push/authenticator"
	"github.com/authd/authd/protocols/push/wire"
)

// wantRejected checks that exactly one push_rejected audit entry came
// after the first since entries, for the answer of device by to push
// msg, refused with code, and returns it. msg is "" for an answer refused
// before its claims are trusted, whose entry names no push. A wrong
// device's entry says so in its detail (the endpoint's answer does not).
func (h *harness) wantRejected(t *testing.T, since int, by *authenticator.Account, msg, code string, wrongDevice bool) audit.Entry {
	t.Helper()
	es := h.audited(audit.KindPushRejected)
	if len(es) != since+1 {
		t.Fatalf("%d push_rejected audit entries for one refused answer, want 1: %+v", len(es)-since, es[since:])
	}
	e := es[since]
	if e.Detail["why"] != code || e.Result != audit.ResultRejected || e.Frontend != "push" || e.Detail["endpoint"] != wire.PathRespond {
		t.Errorf("audit entry %+v, want why=%s, rejected by push at %s", e, code, wire.PathRespond)
	}
	if len(msg) > 8 {
		msg = msg[:8] // entries name a push by its first characters
	}
	if e.Realm != by.Realm || e.User != by.User || e.Detail["device"] != by.DeviceID || e.Detail["message"] != msg {
		t.Errorf("audit entry %+v, want %s/%s device %s message %q", e, by.Realm, by.User, by.DeviceID, msg)
	}
	if got := e.Detail["detail"] == "wrong device"; got != wrongDevice {
		t.Errorf("audit entry %+v: audited as a wrong device %v, want %v", e, got, wrongDevice)
	}
	return e
}

// TestRefusedAnswersAudited: every kind of answer POST /api/v1/push/respond
// refuses gets its error code and one push_rejected audit entry that
// names the answering device and why. Answers from a device the push did
// not go to read as an unknown push whatever became of the push (decided,
// expired), so they tell nothing, and are audited as a wrong device.
func TestRefusedAnswersAudited(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		pushType string
		fromBob  bool // Bob's device answers (else Alice's)
		// before readies the push: an answer to replay, an expiry.
		before func(t *testing.T, h *harness, as accounts, p wire.PendingPush) string
		// answer gives the refused answer from device by (default: an
		// approval); tok is what before returned.
		answer      func(h *harness, by *authenticator.Account, as accounts, r *reply, p wire.PendingPush, tok string) error
		code        string
		wrongDevice bool
		// unverified: refused before the claims (the message id) are
		// trusted, so the entry names no push.
		unverified bool
	}{
		{
			name: "replayed answer",
			before: func(t *testing.T, h *harness, as accounts, p wire.PendingPush) string {
				tok, err := h.auth.AnswerToken(as.alice, p, authenticator.Answer{Approve: true})
				if err == nil {
					_, err = h.auth.PostAnswer(context.Background(), h.srv.URL, tok)
				}
				if err != nil {
					t.Fatal(err)
				}
				return tok
			},
			answer: func(h *harness, _ *authenticator.Account, _ accounts, _ *reply, _ wire.PendingPush, tok string) error {
				_, err := h.auth.PostAnswer(context.Background(), h.srv.URL, tok)
				return err
			},
			code: "already_answered",
		},
		{name: "another user's device", fromBob: true, code: "unknown_push", wrongDevice: true},
		{name: "another user's device, push already decided", fromBob: true, before: approve, code: "unknown_push", wrongDevice: true},
		{name: "another user's device, push expired", fromBob: true, before: expire, code: "unknown_push", wrongDevice: true},
		{
			name: "signed by another key",
			answer: func(h *harness, by *authenticator.Account, as accounts, _ *reply, p wire.PendingPush, _ string) error {
				key, _ := as.bob.PrivateKey()
				c := wire.NewClaims(wire.UseRespond, by.DeviceID, by.Server, h.clock.Now())
				c.MessageID, c.Challenge, c.Decision = p.MessageID, p.Challenge, wire.Approve
				forged, err := wire.Sign(key, by.DeviceID, c)
				if err == nil {
					_, err = h.auth.PostAnswer(context.Background(), h.srv.URL, forged)
				}
				return err
			},
			code: "bad_signature", unverified: true,
		},
		{name: "expired", before: expire, code: "expired"},
		{
			name:     "wrong number",
			pushType: "challenge",
			answer: func(h *harness, by *authenticator.Account, _ accounts, r *reply, p wire.PendingPush, _ string) error {
				shown, wrong := r.cb(engine.CallbackText).ChallengeNumber, 0
				for _, n := range p.Numbers {
					if n != shown {
						wrong = n
					}
				}
				_, err := h.auth.Respond(context.Background(), by, p, authenticator.Answer{Approve: true, Number: wrong})
				return err
			},
			code: "wrong_number",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			typ := c.pushType
			if typ == "" {
				typ = "tap"
			}
			h := newHarness(t, setup{pushType: typ})
			as := accounts{alice: h.enrol("alice"), bob: h.enrol("bob")}
			r, p := loginToWait(t, h, as.alice)
			var tok string
			if c.before != nil {
				tok = c.before(t, h, as, p)
			}
			by := as.alice
			if c.fromBob {
				by = as.bob
			}
			since := len(h.audited(audit.KindPushRejected))
			var err error
			if c.answer != nil {
				err = c.answer(h, by, as, r, p, tok)
			} else {
				_, err = h.auth.Respond(context.Background(), by, p, authenticator.Answer{Approve: true})
			}
			if serverCode(err) != c.code {
				t.Fatalf("answer refused with %v, want %s", err, c.code)
			}
			msg := p.MessageID
			if c.unverified {
				msg = ""
			}
			h.wantRejected(t, since, by, msg, c.code, c.wrongDevice)
		})
	}
}

// accounts are Alice's device and Bob's.
type accounts struct{ alice, bob *authenticator.Account }

// approve is a before of TestRefusedAnswersAudited: Alice approves.
func approve(t *testing.T, h *harness, as accounts, p wire.PendingPush) string {
	t.Helper()
	if _, err := h.auth.Respond(context.Background(), as.alice, p, authenticator.Answer{Approve: true}); err != nil {
		t.Fatal(err)
	}
	return ""
}

// expire is a before of TestRefusedAnswersAudited: the push's 60 s pass.
func expire(_ *testing.T, h *harness, _ accounts, _ wire.PendingPush) string {
	h.clock.Advance(61 * time.Second)
	return ""
}

// TestLaterDeviceCannotAnswer: under multiple_devices a push goes to the
// devices the user has when it is sent; a device enrolled afterwards is
// not shown it and its answer is refused as an unknown push (audited as a
// wrong device) without reaching the waiting login, which the first
// device then decides.
func TestLaterDeviceCannotAnswer(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{mode: "multiple_devices", pushType: "tap"})
	first := h.enrol("alice")
	r, p := loginToWait(t, h, first)
	later := h.enrol("alice")
	h.pending(later, 0)

	woken := h.eng.WakeChan(r.Session) // the login is held, as by a long poll
	since := len(h.audited(audit.KindPushRejected))
	if _, err := h.auth.Respond(context.Background(), later, p, authenticator.Answer{Approve: true}); serverCode(err) != "unknown_push" {
		t.Fatalf("answer of the later device: %v, want unknown_push", err)
	}
	h.wantRejected(t, since, later, p.MessageID, "unknown_push", true)
	select {
	case <-woken:
		t.Error("the refused answer woke the waiting login")
	default:
	}
	if got := h.push(p.MessageID); got.State != devices.StatePending || got.AnsweredBy != "" {
		t.Fatalf("push after the refused answer: %+v", got)
	}
	if r := h.poll("login", r); r.Node != "wait" {
		t.Fatalf("login after the refused answer: %+v", r)
	}
	if res, err := h.auth.Respond(context.Background(), first, p, authenticator.Answer{Approve: true}); err != nil || res.Status != devices.StateApproved {
		t.Fatalf("answer of the first device: %+v %v", res, err)
	}
	if r := h.poll("login", r); r.Outcome != "success" {
		t.Fatalf("after the first device approved: %+v", r)
	}
	if got := h.push(p.MessageID); got.AnsweredBy != first.DeviceID {
		t.Errorf("answered by %q, want the first device %q", got.AnsweredBy, first.DeviceID)
	}
}
