package push_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sideshow/apns2"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
	"github.com/authd/authd/protocols/push"
	"github.com/authd/authd/protocols/push/authenticator"
	"github.com/authd/authd/protocols/push/pushtest"
)

const bundleID = "com.example.authenticator"

// providerHarness is the push journey with APNs, FCM and webhook providers
// pointed at local fakes.
type providerHarness struct {
	*harness
	apns    *pushtest.APNs
	fcm     *pushtest.FCM
	hook    *httptest.Server
	hookMu  sync.Mutex
	hooked  []push.WebhookPayload
	hookRes int
}

func newProviderHarness(t *testing.T, sendTimeout time.Duration) *providerHarness {
	t.Helper()
	dir := t.TempDir()
	a, err := pushtest.NewAPNs(dir, bundleID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	f, err := pushtest.NewFCM(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	ph := &providerHarness{apns: a, fcm: f, hookRes: 200}
	ph.hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p push.WebhookPayload
		_ = json.NewDecoder(r.Body).Decode(&p)
		ph.hookMu.Lock()
		ph.hooked = append(ph.hooked, p)
		code := ph.hookRes
		ph.hookMu.Unlock()
		if r.Header.Get("X-Relay-Key") != "relay-secret" {
			code = 401
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(ph.hook.Close)
	extra := fmt.Sprintf(`
push_provider "apns" "ios" {
  team_id     = %q
  key_id      = %q
  key_file    = %q
  bundle_id   = %q
  environment = "sandbox"
}
push_provider "fcm" "android" {
  credentials_file = %q
}
push_provider "webhook" "relay" {
  url     = %q
  headers = { "X-Relay-Key" = "relay-secret" }
}
`, a.TeamID, a.KeyID, a.KeyFile, bundleID, f.CredentialsFile, ph.hook.URL)
	ph.harness = newHarness(t, setup{
		pushType:  "tap",
		providers: "push_provider.ios, push_provider.android, push_provider.relay, push_provider.poll",
		extra:     extra,
		opts: []push.Option{
			push.WithAPNsHost(a.URL()), push.WithTLSConfig(a.TLSConfig()),
			push.WithFCMEndpoint(f.Endpoint()), push.WithSendTimeout(sendTimeout),
		},
	})
	return ph
}

// enrolDevice enrols a device of the given platform for user.
func (ph *providerHarness) enrolDevice(t *testing.T, user, platform, token string) *authenticator.Account {
	t.Helper()
	r := ph.login("enroll", user)
	a, err := ph.auth.Enroll(context.Background(), r.cb(engine.CallbackQR).URI, authenticator.EnrollOptions{Platform: platform, PushToken: token, AppID: bundleID})
	if err != nil {
		t.Fatalf("enrol %s: %v", platform, err)
	}
	if r := ph.poll("enroll", r); r.Outcome != "success" {
		t.Fatalf("enrol journey: %+v", r)
	}
	return a
}

// TestProvidersDeliver: one user with an iPhone, an Android phone and a
// relayed device gets one push on all three; the notifications carry only
// the message id and the reply URL; any device's answer logs in.
func TestProvidersDeliver(t *testing.T) {
	t.Parallel()
	ph := newProviderHarness(t, 5*time.Second)
	ios := ph.enrolDevice(t, "alice", "apns", "apns-token-1")
	android := ph.enrolDevice(t, "alice", "fcm", "fcm-token-1")
	ph.enrolDevice(t, "alice", "webhook", "relay-token-1")

	r := ph.login("login", "alice")
	if r.Node != "wait" {
		t.Fatalf("login: %+v", r)
	}
	ad := ph.apns.Deliveries()
	if len(ad) != 1 || ad[0].Token != "apns-token-1" || ad[0].Topic != bundleID || ad[0].Status != 200 {
		t.Fatalf("APNs deliveries %+v", ad)
	}
	fd := ph.fcm.Deliveries()
	if len(fd) != 1 || fd[0].Token != "fcm-token-1" || fd[0].Status != 200 || ph.fcm.Exchanges() != 1 {
		t.Fatalf("FCM deliveries %+v (token exchanges %d)", fd, ph.fcm.Exchanges())
	}
	ph.hookMu.Lock()
	hooked := append([]push.WebhookPayload(nil), ph.hooked...)
	ph.hookMu.Unlock()
	if len(hooked) != 1 || hooked[0].PushToken != "relay-token-1" || hooked[0].URL != ph.srv.URL {
		t.Fatalf("webhook deliveries %+v", hooked)
	}
	p := ph.pending(ios, 1)[0]
	// Nothing but the message id and where to reach authd goes through
	// Apple and Google.
	for _, payload := range []string{string(ad[0].Payload), string(fd[0].Payload)} {
		if !strings.Contains(payload, p.MessageID) || !strings.Contains(payload, ph.srv.URL) {
			t.Errorf("payload lacks the message id or reply URL: %s", payload)
		}
		for _, secret := range []string{p.Message, "alice", p.Challenge, p.Context["user_agent"]} {
			if strings.Contains(payload, secret) {
				t.Errorf("payload carries %q: %s", secret, payload)
			}
		}
	}
	var data struct {
		Data    map[string]string `json:"data"`
		Android struct {
			Priority string `json:"priority"`
			TTL      string `json:"ttl"`
		} `json:"android"`
	}
	if err := json.Unmarshal(fd[0].Payload, &data); err != nil || data.Data["mid"] != p.MessageID || data.Android.Priority != "high" {
		t.Errorf("FCM message %s: %+v %v", fd[0].Payload, data, err)
	}
	if _, err := ph.auth.Respond(context.Background(), android, p, authenticator.Answer{Approve: true}); err != nil {
		t.Fatal(err)
	}
	if r := ph.poll("login", r); r.Outcome != "success" {
		t.Fatalf("%+v", r)
	}
}

// TestProvidersUnregistered: APNs 410 Unregistered, APNs 400
// BadDeviceToken and FCM UNREGISTERED mark the devices dead; with every
// device dead the user is sent to registration (not_registered).
func TestProvidersUnregistered(t *testing.T) {
	t.Parallel()
	ph := newProviderHarness(t, 5*time.Second)
	ph.enrolDevice(t, "alice", "apns", "gone-1")
	ph.enrolDevice(t, "alice", "apns", "bad-2")
	ph.enrolDevice(t, "alice", "fcm", "gone-3")
	ph.apns.Unregister("gone-1")
	ph.apns.BadToken("bad-2")
	ph.fcm.Unregister("gone-3")
	r := ph.login("login", "alice")
	if r.Node != "register" {
		t.Fatalf("with every device unregistered, want registration: %+v", r)
	}
	ds, _ := ph.svc.Devices().Devices("corp", "alice")
	reasons := map[string]string{}
	for _, d := range ds {
		if !d.Dead {
			t.Errorf("device %s (%s) not marked dead", d.ID, d.Platform)
		}
		reasons[d.PushToken] = d.DeadReason
	}
	if reasons["gone-1"] != "Unregistered" || reasons["bad-2"] != "BadDeviceToken" || reasons["gone-3"] != "UNREGISTERED" {
		t.Errorf("dead reasons %v", reasons)
	}
	if ok, _ := ph.svc.HasDevice(context.Background(), "corp", "alice"); ok {
		t.Error("HasDevice with only dead devices")
	}
	// A dead device among live ones just drops out.
	live := ph.enrolDevice(t, "bob", "apns", "live-4")
	ph.enrolDevice(t, "bob", "fcm", "gone-5")
	ph.fcm.Unregister("gone-5")
	r = ph.login("login", "bob")
	if r.Node != "wait" {
		t.Fatalf("bob: %+v", r)
	}
	ph.pending(live, 1)
	if strings.Contains(ph.logs.String(), "live-4") || strings.Contains(ph.logs.String(), "gone-5") {
		t.Error("a push token reached the log")
	}
}

// TestProvidersOutage: a provider that hangs or answers 503 gives the
// push_sender's failure outcome (capture_failure) within the send
// timeout, never a hang.
func TestProvidersOutage(t *testing.T) {
	t.Parallel()
	const timeout = 400 * time.Millisecond
	ph := newProviderHarness(t, timeout)
	ph.enrolDevice(t, "alice", "apns", "apns-a")
	ph.enrolDevice(t, "bob", "fcm", "fcm-b")
	for _, c := range []struct {
		name string
		set  func(pushtest.Mode)
		user string
	}{
		{"apns hang", ph.apns.SetMode, "alice"},
		{"apns 503", ph.apns.SetMode, "alice"},
		{"fcm hang", ph.fcm.SetMode, "bob"},
		{"fcm 503", ph.fcm.SetMode, "bob"},
	} {
		mode := pushtest.Hang
		if strings.HasSuffix(c.name, "503") {
			mode = pushtest.Unavailable
		}
		c.set(mode)
		start := time.Now()
		r := ph.login("login", c.user)
		took := time.Since(start)
		if r.Outcome != "failure" {
			t.Errorf("%s: %+v", c.name, r)
		}
		// The login itself hashes a password (~100s of ms); the push
		// part must stay within the send timeout.
		if took > timeout+2*time.Second {
			t.Errorf("%s: the journey took %v with a send timeout of %v", c.name, took, timeout)
		}
		c.set(pushtest.Normal)
	}
	if !strings.Contains(ph.logs.String(), "push_failure_reason") && !strings.Contains(ph.logs.String(), "TRANSMISSION_FAILURE") {
		t.Error("no log of the transmission failure")
	}
	// The providers recover with the fakes.
	if r := ph.login("login", "alice"); r.Node != "wait" {
		t.Fatalf("after the outage: %+v", r)
	}
}

// TestProviderSetupErrors: a missing or wrong key file stops New with a
// message naming the provider.
func TestProviderSetupErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ extra, want string }{
		{`push_provider "apns" "ios" {
  team_id = "T"
  key_id = "K"
  key_file = "/nonexistent/AuthKey.p8"
  bundle_id = "b"
}`, `push_provider "ios"`},
		{`push_provider "fcm" "android" { credentials_file = "/nonexistent/firebase.json" }`, `push_provider "android"`},
	} {
		cfg := loadConfig(t, setup{mode: "multiple_devices", pushType: "tap", providers: "push_provider.poll", extra: c.extra})
		_, err := push.New(nil, newMemKV(), cfg, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New with %s: %v", c.want, err)
		}
	}
}

// TestAPNsEnvironment: a push_provider "apns" reaches Apple's production
// host unless its environment is "sandbox" (development builds of the
// app get tokens only the sandbox knows); WithAPNsHost, for tests,
// overrides either.
func TestAPNsEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fake, err := pushtest.NewAPNs(dir, bundleID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	cases := []struct {
		name        string
		environment string // the attribute line, "" for none
		opts        []push.Option
		want        string
	}{
		{"production", `environment = "production"`, nil, apns2.HostProduction},
		{"sandbox", `environment = "sandbox"`, nil, apns2.HostDevelopment},
		{"default", "", nil, apns2.HostProduction},
		{"overridden", `environment = "production"`, []push.Option{push.WithAPNsHost(fake.URL())}, fake.URL()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := fmt.Sprintf(`
realm "corp" { push_providers = [push_provider.ios] }
push_provider "apns" "ios" {
  team_id   = %q
  key_id    = %q
  key_file  = %q
  bundle_id = %q
  %s
}
`, fake.TeamID, fake.KeyID, fake.KeyFile, bundleID, c.environment)
			cfg, diags := dsl.LoadSources(map[string][]byte{"authd.hcl": []byte(src)}, dir, dsl.Options{})
			if diags.HasErrors() {
				t.Fatalf("config: %v", diags)
			}
			svc, err := push.New(nil, newMemKV(), cfg, nil, c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer svc.Close()
			if got := svc.APNsHost("ios"); got != c.want {
				t.Errorf("APNs host %q, want %q", got, c.want)
			}
		})
	}
}
