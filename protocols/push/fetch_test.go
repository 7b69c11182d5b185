package push_test

import (
	"context"
	"slices"
	"testing"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/protocols/push/authenticator"
	"github.com/authd/authd/protocols/push/wire"
)

// TestWhatTheDeviceFetches: the details a device fetches for a push follow
// the push_sender's settings. push_type reaches the device as is, so an
// app can require a biometric check for "biometric" and show the three
// numbers for "challenge" (and only then); the login context (client IP,
// user agent, protocol) is there with share_context and absent without
// it, for operators who do not want it shown on phones.
func TestWhatTheDeviceFetches(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pushType  string
		noContext bool
	}{
		{pushType: "tap"},
		{pushType: "challenge"},
		{pushType: "biometric"},
		{pushType: "tap", noContext: true},
		{pushType: "biometric", noContext: true},
	}
	for _, c := range cases {
		name := c.pushType
		if c.noContext {
			name += ", share_context = false"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, setup{pushType: c.pushType, noContext: c.noContext})
			a := h.enrol("alice")
			r, p := loginToWait(t, h, a)
			if p.Type != c.pushType {
				t.Errorf("fetched push type %q, want %q", p.Type, c.pushType)
			}
			shown := r.cb(engine.CallbackText).ChallengeNumber
			if c.pushType == "challenge" {
				if len(p.Numbers) != 3 || !slices.Contains(p.Numbers, shown) {
					t.Errorf("numbers %v, want three with the one shown at login (%d)", p.Numbers, shown)
				}
			} else if len(p.Numbers) != 0 || shown != 0 {
				t.Errorf("%s push with numbers %v (shown at login: %d)", c.pushType, p.Numbers, shown)
			}
			if c.noContext {
				if len(p.Context) != 0 {
					t.Errorf("share_context = false, yet the device got the context %v", p.Context)
				}
			} else if p.Context["ip"] != "127.0.0.1" || p.Context["user_agent"] == "" || p.Context["protocol"] != "api" {
				t.Errorf("context %v, want the login's ip, user agent and protocol", p.Context)
			}
			if _, err := h.auth.Respond(context.Background(), a, p, authenticator.Answer{Approve: true, Number: shown}); err != nil {
				t.Fatal(err)
			}
			if r := h.poll("login", r); r.Outcome != "success" {
				t.Fatalf("after approval: %+v", r)
			}
		})
	}
}

// TestPublicURL: the address a device is told to reach, in the enrolment
// URI and as the reply URL of every push, is server.http.public_url (the
// address phones reach, behind NAT or a proxy), else the listen address;
// and the device reaching authd there works end to end.
func TestPublicURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, http, want string
	}{
		{"public_url", `listen = "127.0.0.1:9"
    public_url = "http://localhost:8443/"`, "http://localhost:8443"},
		{"listen address without public_url", `listen = "127.0.0.1:9"`, "http://127.0.0.1:9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, setup{pushType: "tap", configURL: true, extra: "server {\n  http {\n    " + c.http + "\n  }\n}\n"})
			if got := h.svc.PublicURL(); got != c.want {
				t.Fatalf("public URL %q, want %q", got, c.want)
			}
			r := h.login("login", "alice")
			qr := r.cb(engine.CallbackQR)
			if qr == nil {
				t.Fatalf("no registration: %+v", r)
			}
			if e, err := wire.ParseEnrollURI(qr.URI); err != nil || e.URL != c.want {
				t.Fatalf("enrolment URI %q names the server %+v (%v), want %s", qr.URI, e, err, c.want)
			}
			a, err := h.auth.Enroll(context.Background(), qr.URI, authenticator.EnrollOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if r = h.poll("login", r); r.Node != "wait" {
				t.Fatalf("after enrolment: %+v", r)
			}
			p := h.pending(a, 1)[0]
			if p.ReplyURL != c.want {
				t.Errorf("reply URL %q, want %q", p.ReplyURL, c.want)
			}
			if _, err := h.auth.Respond(context.Background(), a, p, authenticator.Answer{Approve: true}); err != nil {
				t.Fatal(err)
			}
			if r := h.poll("login", r); r.Outcome != "success" {
				t.Fatalf("after approval: %+v", r)
			}
		})
	}
}
