package nodes_test

import (
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/mfa"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/engine/users"
	"github.com/authd/authd/nodes"
	"github.com/authd/authd/protocols/sms"
	"github.com/authd/authd/protocols/sms/smstest"
)

func TestOTPVerifySettings(t *testing.T) {
	if cfg := mustDecode(t, "otp_verify", ``).(*nodes.OTPVerifyConfig); cfg.Window != 1 {
		t.Errorf("default window %d", cfg.Window)
	}
	wantOutcomes(t, "otp_verify", ``, "success,failure,not_enrolled")
	build(t, "otp_verify", `window = 0`)
	buildErr(t, "otp_verify", `window = -1`, "window")
	buildErr(t, "otp_verify", `window = 11`, "window")
}

// movingClock is an engine clock tests move by hand (TTLs, TOTP steps).
type movingClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *movingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *movingClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// mfaWorld is a real engine on a memstore with users, the mfa store
// attached, a fake Twilio behind a real twilio gateway, and a fake push
// service: what `authd run` wires, minus the network front ends.
type mfaWorld struct {
	t     *testing.T
	kv    *memstore.Store
	users *users.Repo
	mfa   *mfa.Repo
	clock *movingClock
	eng   *engine.Engine
	tw    *smstest.FakeTwilio
	push  *fakePush
	realm *engine.Realm
}

const (
	alicePhone = "+15550100"
	worldKey   = "0123456789abcdef0123456789abcdef"
)

func newMFAWorld(t *testing.T) *mfaWorld {
	t.Helper()
	kv := memstore.New()
	w := &mfaWorld{
		t: t, kv: kv, users: users.NewRepo(kv),
		clock: &movingClock{t: time.Date(2025, 3, 1, 12, 0, 5, 0, time.UTC)},
		tw:    smstest.NewFakeTwilio("AC1", "token"),
		push:  newFakePush(),
		realm: &engine.Realm{Name: "corp", DisplayName: "Example Corp", DefaultLocale: "en", SMSGateway: "tw",
			EnrollmentMode: "single_device", Lockout: &users.Lockout{MaxFailures: 5, Window: time.Hour, Duration: 15 * time.Minute}},
	}
	t.Cleanup(w.tw.Close)
	var err error
	if w.mfa, err = mfa.NewRepo(kv, []byte(worldKey)); err != nil {
		t.Fatal(err)
	}
	mfa.Attach(kv, w.mfa)
	t.Cleanup(func() { mfa.Attach(kv, nil) })
	for _, u := range []*users.User{
		{Realm: "corp", Name: "alice", Phone: "+1 (555) 010-0", Email: "alice@example.com"},
		{Realm: "corp", Name: "bob"},
	} {
		if err := w.users.Create(u); err != nil {
			t.Fatal(err)
		}
	}
	w.users.Update("corp", "alice", func(u *users.User) error { u.Phone = alicePhone; return nil })
	w.eng = engine.New(engine.Options{KV: kv, Users: w.users, Clock: w.clock})
	w.eng.Services().SMS = map[string]engine.SMSSender{
		"tw": &sms.Twilio{AccountSID: "AC1", AuthToken: "token", From: "+15559999", BaseURL: w.tw.URL},
	}
	w.eng.Services().Push = w.push
	return w
}

// load makes nodes (name, type, settings, edges) journey "j", starting at
// the first, with a username node "login" in front of it.
func (w *mfaWorld) load(nodes ...*engine.CompiledNode) {
	w.t.Helper()
	j := &engine.Journey{Name: "j", Realm: "corp", Start: "login", Revision: "r-" + w.t.Name(),
		Nodes: map[string]*engine.CompiledNode{}, StateKeys: nil}
	j.Nodes["login"] = compiled(w.t, "login", "username", ``, map[engine.Outcome]string{"next": nodes[0].Name})
	for _, n := range nodes {
		j.Nodes[n.Name] = n
	}
	w.eng.Load(&engine.Program{Revision: "p", Realms: map[string]*engine.Realm{"corp": w.realm}, Journeys: map[string]*engine.Journey{"j": j}})
}

// login starts the journey and gives the user name.
func (w *mfaWorld) login(user string) *engine.Response {
	w.t.Helper()
	resp, err := w.eng.Start(w.t.Context(), "corp", "j", engine.Request{Protocol: "api"})
	if err != nil {
		w.t.Fatal(err)
	}
	return w.answer(resp, "username", user)
}

// answer resumes with one callback answered (id "" resumes with none).
func (w *mfaWorld) answer(resp *engine.Response, id, value string) *engine.Response {
	w.t.Helper()
	if resp.Done {
		w.t.Fatalf("answering %s=%q to a finished session (%s: %s)", id, value, resp.Outcome, resp.Reason)
	}
	var cbs []engine.Callback
	if id != "" {
		cbs = []engine.Callback{{ID: id, Value: &value}}
	}
	next, err := w.eng.Resume(w.t.Context(), resp.Session, cbs, engine.Request{Protocol: "api"})
	if err != nil {
		w.t.Fatalf("resume %s=%q: %v", id, value, err)
	}
	return next
}

// wantAt checks the session suspended at node.
func wantAt(t *testing.T, resp *engine.Response, node string) {
	t.Helper()
	if resp.Done || resp.Node != node {
		t.Fatalf("at %q done=%v outcome=%s reason=%q, want suspended at %s", resp.Node, resp.Done, resp.Outcome, resp.Reason, node)
	}
}

// wantEnd checks the session finished with outcome.
func wantEnd(t *testing.T, resp *engine.Response, o engine.Outcome, reason string) {
	t.Helper()
	if !resp.Done || resp.Outcome != o || !strings.Contains(resp.Reason, reason) {
		t.Fatalf("done=%v outcome=%s reason=%q at %s, want %s (%q)", resp.Done, resp.Outcome, resp.Reason, resp.Node, o, reason)
	}
}

// enrol gives user a confirmed token and returns the app's view of it.
func (w *mfaWorld) enrol(user string, p mfa.Params) *mfa.URIKey {
	w.t.Helper()
	e, err := w.mfa.Enroll("corp", user, "Example Corp", p, true, w.clock.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	k, err := mfa.ParseURI(e.URI)
	if err != nil {
		w.t.Fatal(err)
	}
	return k
}

func codeAt(t *testing.T, k *mfa.URIKey, at time.Time) string {
	t.Helper()
	c, err := k.Code(at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// otpJourney: FortiAuthenticator's prompt, a code or a push, three tries
// (one with once, so the failure's reason is otp_verify's own).
func (w *mfaWorld) otpJourney(verify string, once ...bool) {
	onFailure := "retry"
	if len(once) > 0 && once[0] {
		onFailure = "failure"
	}
	w.load(
		compiled(w.t, "mfa", "otp_or_push", ``, map[engine.Outcome]string{"code": "verify", "push": "pushed", "not_enrolled": "failure"}),
		compiled(w.t, "verify", "otp_verify", verify, map[engine.Outcome]string{"success": "success", "failure": onFailure, "not_enrolled": "failure"}),
		compiled(w.t, "retry", "retry_limit", `limit = 2`, map[engine.Outcome]string{"retry": "mfa", "reject": "failure"}),
		compiled(w.t, "pushed", "message", `text = "push chosen"`, map[engine.Outcome]string{"next": "success"}),
	)
}

func TestOTPJourney(t *testing.T) {
	w := newMFAWorld(t)
	w.otpJourney(``)
	k := w.enrol("alice", mfa.Params{})

	resp := w.login("alice")
	wantAt(t, resp, "mfa")
	if cb := resp.Callbacks[0]; cb.Type != engine.CallbackCode || !strings.HasPrefix(cb.Prompt, "+") {
		t.Fatalf("prompt %+v", cb)
	}
	// A wrong code goes round the retry and asks again; the right one wins.
	resp = w.answer(resp, "code", "000000")
	wantAt(t, resp, "mfa")
	code := codeAt(t, k, w.clock.Now())
	resp = w.answer(resp, "code", code)
	wantEnd(t, resp, engine.Success, "OTP code accepted")
	if !slicesEqual(resp.Path, []string{"login", "mfa", "verify", "retry", "mfa", "verify"}) {
		t.Errorf("path %v", resp.Path)
	}
	// The code never reached the session.
	if s, _ := w.eng.Session(resp.Session); s != nil {
		if b, _ := s.MarshalJSON(); strings.Contains(string(b), code) {
			t.Error("the OTP code is stored in the session")
		}
	}
	// Replay: the same code in a new session fails.
	w.otpJourney(``, true)
	wantEnd(t, w.answer(w.login("alice"), "code", code), engine.Failure, "already used")
	// The next time step's code works.
	w.clock.add(30 * time.Second)
	resp = w.answer(w.login("alice"), "code", codeAt(t, k, w.clock.Now()))
	wantEnd(t, resp, engine.Success, "")
	// A right code cleared the failure count the wrong ones left.
	if u, _ := w.users.Get("corp", "alice"); u.Failures != 0 {
		t.Errorf("failures %d after a right code", u.Failures)
	}
}

func slicesEqual(a, b []string) bool { return strings.Join(a, "|") == strings.Join(b, "|") }

func TestOTPJourneyWindow(t *testing.T) {
	w := newMFAWorld(t)
	w.otpJourney(`window = 0`)
	k := w.enrol("alice", mfa.Params{})
	// With window 0 the previous step's code is refused, the current one not.
	resp := w.answer(w.login("alice"), "code", codeAt(t, k, w.clock.Now().Add(-30*time.Second)))
	wantAt(t, resp, "mfa")
	resp = w.answer(resp, "code", codeAt(t, k, w.clock.Now()))
	wantEnd(t, resp, engine.Success, "")

	// Default window 1: one step of drift either side passes, two do not.
	w2 := newMFAWorld(t)
	w2.otpJourney(``)
	k2 := w2.enrol("alice", mfa.Params{Algorithm: "SHA256", Digits: 8})
	resp = w2.answer(w2.login("alice"), "code", codeAt(t, k2, w2.clock.Now().Add(60*time.Second)))
	wantAt(t, resp, "mfa")
	resp = w2.answer(resp, "code", codeAt(t, k2, w2.clock.Now().Add(30*time.Second)))
	wantEnd(t, resp, engine.Success, "")
}

// TestOTPJourneyOathtool: a code computed by oathtool (oath-toolkit, the
// reference implementation) logs in through the engine.
func TestOTPJourneyOathtool(t *testing.T) {
	if _, err := exec.LookPath("oathtool"); err != nil {
		t.Skip("oathtool is not installed (Debian package oathtool; .ci/install-tools installs it)")
	}
	w := newMFAWorld(t)
	w.otpJourney(``)
	e, err := w.mfa.Enroll("corp", "alice", "Example Corp", mfa.Params{Algorithm: "SHA512", Digits: 8}, true, w.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	secret := e.URI[strings.Index(e.URI, "secret=")+len("secret="):]
	secret, _, _ = strings.Cut(secret, "&")
	out, err := exec.Command("oathtool", "--totp=sha512", "-b", "-d", "8",
		"-N", "@"+strconv.FormatInt(w.clock.Now().Unix(), 10), secret).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	resp := w.answer(w.login("alice"), "code", strings.TrimSpace(string(out)))
	wantEnd(t, resp, engine.Success, "OTP code accepted")
}

func TestOTPJourneyPushAndNotEnrolled(t *testing.T) {
	w := newMFAWorld(t)
	w.otpJourney(``)
	// bob has neither a token nor a device: not_enrolled without a prompt.
	resp := w.login("bob")
	wantEnd(t, resp, engine.Failure, "no OTP token and no push device")
	if !slicesEqual(resp.Path, []string{"login", "mfa"}) {
		t.Errorf("path %v", resp.Path)
	}
	// With a push device he is asked; blank and "push" choose push.
	w.push.devices["bob"] = 1
	for _, ans := range []string{"", "  PUSH "} {
		resp = w.answer(w.login("bob"), "code", ans)
		wantAt(t, resp, "pushed")
	}
	// Words that are not "push" go to otp_verify, which has no token for
	// him: not_enrolled.
	resp = w.answer(w.login("bob"), "code", "123456")
	wantEnd(t, resp, engine.Failure, "no OTP token")
	// A failing device lookup is a fault, not "not enrolled".
	w.push.storeErr = errFake
	delete(w.push.devices, "bob")
	resp = w.login("bob")
	wantEnd(t, resp, engine.Failure, "internal error")
}

var errFake = errorString("disk on fire")

type errorString string

func (e errorString) Error() string { return string(e) }

// TestOTPJourneyLockout: failed codes count toward the realm's lockout,
// and a locked account fails without its code being checked (or used up).
func TestOTPJourneyLockout(t *testing.T) {
	w := newMFAWorld(t)
	w.realm.Lockout = &users.Lockout{MaxFailures: 3, Window: time.Hour, Duration: 15 * time.Minute}
	w.otpJourney(``)
	k := w.enrol("alice", mfa.Params{})
	resp := w.login("alice")
	for i := 0; i < 2; i++ {
		resp = w.answer(resp, "code", "11111"+strconv.Itoa(i))
	}
	w.otpJourney(``, true) // same revision: this session takes the new graph too
	wantAt(t, resp, "mfa")
	resp = w.answer(resp, "code", "111112")
	wantEnd(t, resp, engine.Failure, "wrong OTP code; account locked")
	u, _ := w.users.Get("corp", "alice")
	if !u.Locked(w.clock.Now()) {
		t.Fatal("three wrong codes did not lock the account")
	}
	code := codeAt(t, k, w.clock.Now())
	resp = w.answer(w.login("alice"), "code", code)
	wantEnd(t, resp, engine.Failure, "account locked")
	// The code was not checked, so not used: after an unlock it works.
	w.users.Unlock("corp", "alice")
	resp = w.answer(w.login("alice"), "code", code)
	wantEnd(t, resp, engine.Success, "")
	// Letters are no guess and do not count.
	w.realm.Lockout.MaxFailures = 1
	wantEnd(t, w.answer(w.login("alice"), "code", "abc"), engine.Failure, "wrong OTP code")
	if u, _ := w.users.Get("corp", "alice"); u.Failures != 0 || u.Locked(w.clock.Now()) {
		t.Errorf("non-codes counted: %+v", u)
	}
}

// TestOTPVerifyAsks: reached without otp_or_push, otp_verify asks itself.
func TestOTPVerifyAsks(t *testing.T) {
	w := newMFAWorld(t)
	w.load(compiled(t, "verify", "otp_verify", ``, map[engine.Outcome]string{"success": "success", "failure": "failure", "not_enrolled": "failure"}))
	resp := w.login("alice")
	wantEnd(t, resp, engine.Failure, "no OTP token")
	k := w.enrol("alice", mfa.Params{Type: mfa.TypeHOTP})
	resp = w.login("alice")
	wantAt(t, resp, "verify")
	if resp.Callbacks[0].Type != engine.CallbackCode || resp.Callbacks[0].ID != "code" {
		t.Fatalf("callbacks %+v", resp.Callbacks)
	}
	c0, _ := k.CodeAt(0)
	wantEnd(t, w.answer(resp, "code", c0), engine.Success, "")
	// HOTP replay: counter 0 again fails; counter 1 passes.
	wantEnd(t, w.answer(w.login("alice"), "code", c0), engine.Failure, "already used")
	c1, _ := k.CodeAt(1)
	wantEnd(t, w.answer(w.login("alice"), "code", c1), engine.Success, "")
	// A locked account fails before being asked.
	w.users.Update("corp", "alice", func(u *users.User) error { u.LockedUntil = w.clock.Now().Add(time.Hour); return nil })
	wantEnd(t, w.login("alice"), engine.Failure, "account locked")
}

// TestOTPWithoutStore: a server that attached no mfa store faults clearly.
func TestOTPWithoutStore(t *testing.T) {
	e := newEnv()
	e.session.User = "alice"
	e.svc.KV = memstore.New()
	e.svc.Users = users.NewRepo(e.svc.KV)
	_, err := build(t, "otp_or_push", ``).Process(t.Context(), e.ctx("mfa", nil))
	if err == nil || !strings.Contains(err.Error(), "mfa.Attach") {
		t.Errorf("error %v", err)
	}
}
