package push_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/devices"
	"github.com/authd/authd/protocols/push/authenticator"
	"github.com/authd/authd/protocols/push/wire"
)

// TestRegisterThenApprove is the whole journey through the journey API: a
// user without a device is sent to registration, enrols the software
// authenticator by its URI, gets the push, picks the number shown at
// login, and is in.
func TestRegisterThenApprove(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	r := h.login("login", "alice")
	qr := r.cb(engine.CallbackQR)
	if r.Node != "register" || qr == nil || !strings.HasPrefix(qr.URI, "authd://enroll?") {
		t.Fatalf("no registration for a user without a device: %+v", r)
	}
	if e, err := wire.ParseEnrollURI(qr.URI); err != nil || e.URL != h.srv.URL || e.Realm != "corp" || e.User != "alice" || e.Issuer != "Example Corp" {
		t.Fatalf("enrolment URI %q: %+v %v", qr.URI, e, err)
	}
	// Polling before the phone enrolled keeps showing the code.
	if again := h.poll("login", r); again.Node != "register" || again.cb(engine.CallbackQR).URI != qr.URI {
		t.Fatalf("poll before enrolment: %+v", again)
	}
	a, err := h.auth.Enroll(context.Background(), qr.URI, authenticator.EnrollOptions{Name: "test phone"})
	if err != nil {
		t.Fatal(err)
	}
	if a.User != "alice" || a.Realm != "corp" || a.DeviceID == "" {
		t.Fatalf("account %+v", a)
	}
	// The code is single-use.
	if _, err := h.auth.Enroll(context.Background(), qr.URI, authenticator.EnrollOptions{}); serverCode(err) != "used" {
		t.Errorf("second use of the enrolment code: %v", err)
	}

	r = h.poll("login", r)
	text := r.cb(engine.CallbackText)
	if r.Node != "wait" || r.cb(engine.CallbackWait) == nil || text == nil || text.ChallengeNumber < 10 {
		t.Fatalf("after enrolment, want the push wait with a number: %+v", r)
	}
	ps := h.pending(a, 1)
	p := ps[0]
	if p.Message != "Sign in as alice at Example Corp?" || p.Type != "challenge" || len(p.Numbers) != 3 || p.Context["ip"] != "127.0.0.1" || p.ReplyURL != h.srv.URL {
		t.Fatalf("pending push %+v", p)
	}
	found := false
	for _, n := range p.Numbers {
		found = found || n == text.ChallengeNumber
	}
	if !found {
		t.Fatalf("number %d shown at login is not among the phone's %v", text.ChallengeNumber, p.Numbers)
	}
	// Still waiting before the answer.
	if r2 := h.poll("login", r); r2.Node != "wait" {
		t.Fatalf("poll before the answer: %+v", r2)
	}
	res, err := h.auth.Respond(context.Background(), a, p, authenticator.Answer{Approve: true, Number: text.ChallengeNumber})
	if err != nil || res.Status != "approved" {
		t.Fatalf("approve: %+v %v", res, err)
	}
	if r := h.poll("login", r); r.Outcome != "success" || r.User != "alice" {
		t.Fatalf("after approval: %+v", r)
	}
	h.pending(a, 0)
	if got := h.push(p.MessageID); got.State != devices.StateApproved || got.AnsweredBy != a.DeviceID {
		t.Errorf("stored push %+v", got)
	}
	if es := h.audited(audit.KindEnrollment); len(es) != 1 || es[0].User != "alice" || es[0].Result != audit.ResultSuccess || es[0].Detail["device"] != a.DeviceID {
		t.Errorf("enrolment audit entries %+v", es)
	}
}

// loginToWait logs alice in up to the push wait and returns the reply and
// her pending push.
func loginToWait(t *testing.T, h *harness, a *authenticator.Account) (*reply, wire.PendingPush) {
	t.Helper()
	r := h.login("login", "alice")
	if r.Node != "wait" {
		t.Fatalf("login: %+v", r)
	}
	return r, h.pending(a, 1)[0]
}

func TestDenyAndReport(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{pushType: "tap"})
	a := h.enrol("alice")
	for _, report := range []bool{false, true} {
		r, p := loginToWait(t, h, a)
		if r.cb(engine.CallbackText).ChallengeNumber != 0 || len(p.Numbers) != 0 {
			t.Errorf("tap push with numbers: %+v %+v", r, p)
		}
		res, err := h.auth.Respond(context.Background(), a, p, authenticator.Answer{Report: report})
		want := "denied"
		if report {
			want = "reported"
		}
		if err != nil || res.Status != "denied" || res.Reason != want {
			t.Fatalf("deny (report %v): %+v %v", report, res, err)
		}
		if r := h.poll("login", r); r.Outcome != "failure" || r.User != "" {
			t.Fatalf("after denial: %+v", r)
		}
		if got := h.push(p.MessageID); got.Suspicious != report {
			t.Errorf("suspicious = %v, want %v", got.Suspicious, report)
		}
	}
	if es := h.audited(audit.KindPushReported); len(es) != 1 || es[0].User != "alice" || es[0].Detail["suspicious"] != "true" || es[0].Client != "127.0.0.1" {
		t.Errorf("deny and report audit entries %+v", es)
	}
}

func TestWrongNumber(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	a := h.enrol("alice")
	r, p := loginToWait(t, h, a)
	shown := r.cb(engine.CallbackText).ChallengeNumber
	wrong := 0
	for _, n := range p.Numbers {
		if n != shown {
			wrong = n
		}
	}
	_, err := h.auth.Respond(context.Background(), a, p, authenticator.Answer{Approve: true, Number: wrong})
	if serverCode(err) != "wrong_number" {
		t.Fatalf("wrong number: %v", err)
	}
	// One wrong pick ends the attempt: the right number no longer helps.
	_, err = h.auth.Respond(context.Background(), a, p, authenticator.Answer{Approve: true, Number: shown})
	if serverCode(err) != "already_answered" {
		t.Fatalf("right number after a wrong one: %v", err)
	}
	if r := h.poll("login", r); r.Outcome != "failure" {
		t.Fatalf("after a wrong number: %+v", r)
	}
}

// TestExpiredThenResent: nobody answers in time, push_result_verifier says
// expired, push_sender sends a fresh push (the old one stays dead), and
// that one works.
func TestExpiredThenResent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	a := h.enrol("alice")
	r, old := loginToWait(t, h, a)
	h.clock.Advance(61 * time.Second)
	h.pending(a, 0)
	r = h.poll("login", r)
	if r.Node != "wait" {
		t.Fatalf("after expiry, want a new push and wait: %+v", r)
	}
	ps := h.pending(a, 1)
	if ps[0].MessageID == old.MessageID {
		t.Fatal("the expired push was not replaced")
	}
	if got := h.push(old.MessageID); got.State != devices.StatePending && got.State != devices.StateExpired {
		t.Errorf("old push state %q", got.State)
	}
	// The old push cannot be answered any more.
	if _, err := h.auth.Respond(context.Background(), a, old, authenticator.Answer{Approve: true, Number: r.cb(engine.CallbackText).ChallengeNumber}); serverCode(err) != "expired" {
		t.Errorf("answer to the expired push: %v", err)
	}
	if _, err := h.auth.Respond(context.Background(), a, ps[0], authenticator.Answer{Approve: true, Number: r.cb(engine.CallbackText).ChallengeNumber}); err != nil {
		t.Fatal(err)
	}
	if r := h.poll("login", r); r.Outcome != "success" {
		t.Fatalf("after the re-sent push: %+v", r)
	}
}

func TestReplayWrongDeviceBadSignature(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{pushType: "tap"})
	a := h.enrol("alice")
	b := h.enrol("bob")
	r, p := loginToWait(t, h, a)
	ctx := context.Background()

	// Bob's device answering Alice's push learns nothing.
	if _, err := h.auth.Respond(ctx, b, p, authenticator.Answer{Approve: true}); serverCode(err) != "unknown_push" {
		t.Errorf("wrong device: %v", err)
	}
	// A token with Alice's device id signed by another key.
	bkey, _ := b.PrivateKey()
	fc := wire.NewClaims(wire.UseRespond, a.DeviceID, a.Server, h.clock.Now())
	fc.MessageID, fc.Challenge, fc.Decision = p.MessageID, p.Challenge, wire.Approve
	forged, _ := wire.Sign(bkey, a.DeviceID, fc)
	if _, err := h.auth.PostAnswer(ctx, h.srv.URL, forged); serverCode(err) != "bad_signature" {
		t.Errorf("bad signature: %v", err)
	}
	// A tampered token (the signature no longer covers the claims).
	tok, err := h.auth.AnswerToken(a, p, authenticator.Answer{Approve: false})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	approve, _ := h.auth.AnswerToken(a, p, authenticator.Answer{Approve: true})
	tampered := parts[0] + "." + strings.Split(approve, ".")[1] + "." + parts[2]
	if _, err := h.auth.PostAnswer(ctx, h.srv.URL, tampered); serverCode(err) != "bad_signature" {
		t.Errorf("tampered token: %v", err)
	}
	// Wrong challenge.
	wrong := p
	wrong.Challenge = "not-the-challenge"
	if _, err := h.auth.Respond(ctx, a, wrong, authenticator.Answer{Approve: true}); serverCode(err) != "wrong_challenge" {
		t.Errorf("wrong challenge: %v", err)
	}
	// A token for another server.
	other := *a
	other.Server = "https://elsewhere.example"
	otherTok, _ := h.auth.AnswerToken(&other, p, authenticator.Answer{Approve: true})
	if _, err := h.auth.PostAnswer(ctx, h.srv.URL, otherTok); serverCode(err) != "invalid_audience" {
		t.Errorf("foreign audience: %v", err)
	}
	// None of that decided anything; the real answer does, once.
	if _, err := h.auth.PostAnswer(ctx, h.srv.URL, approve); err != nil {
		t.Fatalf("genuine answer: %v", err)
	}
	if _, err := h.auth.PostAnswer(ctx, h.srv.URL, approve); serverCode(err) != "already_answered" {
		t.Errorf("replayed answer: %v", err)
	}
	if _, err := h.auth.PostAnswer(ctx, h.srv.URL, tok); serverCode(err) != "already_answered" {
		t.Errorf("late contrary answer: %v", err)
	}
	if r := h.poll("login", r); r.Outcome != "success" {
		t.Fatalf("after approval: %+v", r)
	}
	whys := map[string]bool{}
	for _, e := range h.audited(audit.KindPushRejected) {
		whys[e.Detail["why"]] = true
		if e.Result != audit.ResultRejected || e.Frontend != "push" {
			t.Errorf("entry %+v", e)
		}
	}
	for _, want := range []string{"unknown_push", "bad_signature", "wrong_challenge", "already_answered", "invalid_audience"} {
		if !whys[want] {
			t.Errorf("no push_rejected audit entry for %s (have %v)", want, whys)
		}
	}
}

func TestSignedFetch(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{pushType: "tap"})
	a := h.enrol("alice")
	ctx := context.Background()
	key, _ := a.PrivateKey()
	tok, _ := wire.Sign(key, a.DeviceID, wire.NewClaims(wire.UsePending, a.DeviceID, a.Server, h.clock.Now()))
	get := func(auth string) int {
		req, _ := httpRequest("GET", h.srv.URL+wire.PathPending, auth)
		resp, err := h.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := get(""); c != 401 {
		t.Errorf("unsigned fetch: %d", c)
	}
	if c := get("Bearer " + tok); c != 200 {
		t.Errorf("signed fetch: %d", c)
	}
	if c := get("Bearer " + tok); c != 401 {
		t.Errorf("replayed fetch: %d", c)
	}
	// An answer token is not a fetch token.
	if c := get("Bearer " + mustAnswerToken(t, h, a)); c != 401 {
		t.Errorf("answer token used to fetch: %d", c)
	}
	// A long poll returns as soon as a push arrives.
	got := make(chan []wire.PendingPush, 1)
	go func() {
		ps, err := h.auth.Pending(ctx, a, 20*time.Second)
		if err != nil {
			t.Error(err)
		}
		got <- ps
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	r := h.login("login", "alice")
	select {
	case ps := <-got:
		if len(ps) != 1 {
			t.Fatalf("long poll got %+v", ps)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("long poll took %v", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the long poll did not return when the push arrived")
	}
	_ = r
}

func mustAnswerToken(t *testing.T, h *harness, a *authenticator.Account) string {
	t.Helper()
	tok, err := h.auth.AnswerToken(a, wire.PendingPush{MessageID: "x", Challenge: "y"}, authenticator.Answer{Approve: true})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestWakeOnAnswer: a front end holding the session (RADIUS, a long
// poll) is woken the moment the answer is stored.
func TestWakeOnAnswer(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{pushType: "tap"})
	a := h.enrol("alice")
	r, p := loginToWait(t, h, a)
	woken := h.eng.WakeChan(r.Session)
	if _, err := h.auth.Respond(context.Background(), a, p, authenticator.Answer{Approve: true}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-woken:
	case <-time.After(time.Second):
		t.Fatal("the answer did not wake the session")
	}
}

func TestExitWithdrawsPush(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{pushType: "tap"})
	a := h.enrol("alice")
	r, p := loginToWait(t, h, a)
	if r := h.exit("login", r); r.Outcome != "failure" {
		t.Fatalf("exit: %+v", r)
	}
	if _, err := h.auth.Respond(context.Background(), a, p, authenticator.Answer{Approve: true}); serverCode(err) != "already_answered" {
		t.Errorf("approving a withdrawn push: %v", err)
	}
}

func TestPendingLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{pushType: "tap"})
	a := h.enrol("alice")
	for i := 0; i < 3; i++ {
		if r := h.login("login", "alice"); r.Node != "wait" {
			t.Fatalf("push %d: %+v", i+1, r)
		}
	}
	if r := h.login("login", "alice"); r.Outcome != "failure" {
		t.Fatalf("a fourth pending push: %+v", r)
	}
	h.pending(a, 3)
	if !strings.Contains(h.logs.String(), "event=push.too_many_pending") {
		t.Error("no log line for the refused push")
	}
	// Once they expire, pushes go out again.
	h.clock.Advance(61 * time.Second)
	if r := h.login("login", "alice"); r.Node != "wait" {
		t.Fatalf("after expiry: %+v", r)
	}
}

func TestEnrollmentModes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("single_device", func(t *testing.T) {
		h := newHarness(t, setup{mode: "single_device", pushType: "tap"})
		a := h.enrol("alice")
		// The node refuses up front...
		if r := h.login("enroll", "alice"); r.Outcome != "failure" {
			t.Fatalf("second registration: %+v", r)
		}
		// ...and the endpoint refuses a code issued before the first
		// device enrolled.
		h2 := h.login("enroll", "bob")
		h.enrol("bob")
		if _, err := h.auth.Enroll(ctx, h2.cb(engine.CallbackQR).URI, authenticator.EnrollOptions{}); serverCode(err) != "device_limit" {
			t.Fatalf("second device under single_device: %v", err)
		}
		if r := h.poll("enroll", h2); r.Outcome != "failure" {
			t.Fatalf("journey after the refused enrolment: %+v", r)
		}
		ds, _ := h.svc.Devices().Devices("corp", "alice")
		if len(ds) != 1 || ds[0].ID != a.DeviceID {
			t.Errorf("devices %+v", ds)
		}
	})
	t.Run("override_allowed", func(t *testing.T) {
		h := newHarness(t, setup{mode: "override_allowed", pushType: "tap"})
		old := h.enrol("alice")
		fresh := h.enrol("alice")
		ds, _ := h.svc.Devices().Devices("corp", "alice")
		if len(ds) != 1 || ds[0].ID != fresh.DeviceID {
			t.Fatalf("devices after override %+v", ds)
		}
		r, p := loginToWait(t, h, fresh)
		if _, err := h.auth.Respond(ctx, old, p, authenticator.Answer{Approve: true}); serverCode(err) != "unknown_device" {
			t.Errorf("the replaced device answered: %v", err)
		}
		if _, err := h.auth.Respond(ctx, fresh, p, authenticator.Answer{Approve: true}); err != nil {
			t.Fatal(err)
		}
		if r := h.poll("login", r); r.Outcome != "success" {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("multiple_devices", func(t *testing.T) {
		h := newHarness(t, setup{mode: "multiple_devices", pushType: "tap"})
		one, two := h.enrol("alice"), h.enrol("alice")
		r := h.login("login", "alice")
		p1, p2 := h.pending(one, 1)[0], h.pending(two, 1)[0]
		if p1.MessageID != p2.MessageID {
			t.Fatal("the devices got different pushes")
		}
		// First answer wins; the second device is told it is decided.
		if _, err := h.auth.Respond(ctx, two, p2, authenticator.Answer{Approve: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.auth.Respond(ctx, one, p1, authenticator.Answer{}); serverCode(err) != "already_answered" {
			t.Errorf("second device: %v", err)
		}
		if r := h.poll("login", r); r.Outcome != "success" {
			t.Fatalf("%+v", r)
		}
		if got := h.push(p1.MessageID); got.AnsweredBy != two.DeviceID {
			t.Errorf("answered by %s", got.AnsweredBy)
		}
	})
}

// TestEnrollmentTimeout: an unused code expires and the node leaves by
// timeout; the expired code cannot be used afterwards.
func TestEnrollmentTimeout(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	r := h.login("enroll", "alice")
	uri := r.cb(engine.CallbackQR).URI
	h.clock.Advance(121 * time.Second)
	if _, err := h.auth.Enroll(context.Background(), uri, authenticator.EnrollOptions{}); serverCode(err) != "expired" {
		t.Errorf("expired code: %v", err)
	}
	// timeout is wired to failure in the test journey.
	if r := h.poll("enroll", r); r.Outcome != "failure" {
		t.Fatalf("%+v", r)
	}
}

func TestEnrollRejects(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	r := h.login("enroll", "alice")
	uri := r.cb(engine.CallbackQR).URI
	e, _ := wire.ParseEnrollURI(uri)
	ctx := context.Background()
	// The wrong secret.
	bad := *e
	bad.Secret = []byte("0123456789abcdef0123456789abcdef")
	if _, err := h.auth.Enroll(ctx, bad.String(), authenticator.EnrollOptions{}); serverCode(err) != "bad_proof" {
		t.Errorf("wrong secret: %v", err)
	}
	// A platform the realm does not offer.
	if _, err := h.auth.Enroll(ctx, uri, authenticator.EnrollOptions{Platform: "apns", PushToken: "x"}); serverCode(err) != "unsupported_platform" {
		t.Errorf("apns on a poll-only realm: %v", err)
	}
	// The code still works after those.
	if _, err := h.auth.Enroll(ctx, uri, authenticator.EnrollOptions{}); err != nil {
		t.Fatalf("genuine enrolment after refusals: %v", err)
	}
}
