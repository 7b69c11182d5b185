package radius

import (
	"context"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"layeh.com/radius"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/metrics"
	"github.com/authd/authd/engine/metrics/metricstest"
)

// auditEnv is newEnv with the store's audit log behind Options.Audit.
func auditEnv(t *testing.T, mod func(*Config, *Options)) (*env, *audit.Log) {
	t.Helper()
	log, err := audit.New(newMemKV(), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *Config, o *Options) {
		o.Audit = log
		if mod != nil {
			mod(c, o)
		}
	})
	return e, log
}

func dropEntries(t testing.TB, l *audit.Log) []audit.Entry {
	t.Helper()
	p, err := l.Query(audit.Query{Kind: audit.KindRADIUSDropped})
	if err != nil {
		t.Fatal(err)
	}
	return p.Entries
}

// waitDropEntry polls the audit log for an entry of reason.
func waitDropEntry(t testing.TB, l *audit.Log, reason string) audit.Entry {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, e := range dropEntries(t, l) {
			if e.Detail["reason"] == reason {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no radius_dropped audit entry with reason %q; have %+v", reason, dropEntries(t, l))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDroppedPacketsAreCountedAndAudited: every kind of dropped packet
// counts in authd_radius_dropped_total under its reason and lands in the
// audit log (issue 8), with the source address, and is never answered.
func TestDroppedPacketsAreCountedAndAudited(t *testing.T) {
	farOnly := func(c *Config, _ *Options) {
		c.Clients = []Client{{Name: "far", Network: netip.MustParsePrefix("10.0.0.0/8"), Secret: []byte(testSecret)}}
		for i := range c.Policies {
			c.Policies[i].Clients = nil
		}
	}
	cases := []struct {
		name, reason, client string
		mod                  func(*Config, *Options)
		packet               func(t *testing.T) []byte
	}{
		{"unknown client", "unknown_client", "", farOnly, func(t *testing.T) []byte {
			return sign(t, accessRequest("alice", pw("secret")))
		}},
		{"bad Message-Authenticator", "bad_authenticator", "local", nil, func(t *testing.T) []byte {
			b := sign(t, accessRequest("alice", pw("secret")))
			b[len(b)-1] ^= 1
			return b
		}},
		{"wrong secret", "bad_authenticator", "local", nil, func(t *testing.T) []byte {
			p := accessRequest("alice", pw("secret"))
			p.Secret = []byte("not-the-secret")
			return sign(t, p)
		}},
		{"missing Message-Authenticator", "missing_message_authenticator", "local", nil, func(t *testing.T) []byte {
			b, _ := accessRequest("alice", pw("secret")).Encode()
			return b
		}},
		{"shorter than a header", "malformed", "", nil, func(*testing.T) []byte {
			return []byte{1, 2, 0, 10, 0, 0, 0, 0, 0, 0}
		}},
		{"attribute overruns the packet", "malformed", "local", nil, func(t *testing.T) []byte {
			b := sign(t, accessRequest("alice", pw("secret")))
			b = append(b, byte(attrReplyMessage), 40, 'x') // claims 40 bytes, has 1
			b[2], b[3] = byte(len(b)>>8), byte(len(b))
			return b
		}},
		{"oversize", "oversize", "", nil, func(*testing.T) []byte {
			b := make([]byte, 5000)
			b[0], b[2], b[3] = byte(radius.CodeAccessRequest), 0x0f, 0xff
			return b
		}},
		{"a reply sent to the server", "unexpected_code", "", nil, func(t *testing.T) []byte {
			p := radius.New(radius.CodeAccessAccept, []byte(testSecret))
			b, _ := p.Encode()
			return b
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, log := auditEnv(t, tc.mod)
			labels := map[string]string{"reason": tc.reason}
			before := metricstest.Value(t, "authd_radius_dropped_total", labels)
			if r := e.raw(tc.packet(t), 300*time.Millisecond); r != nil {
				t.Fatalf("answered: code %d", r[0])
			}
			metricstest.Wait(t, "authd_radius_dropped_total", labels, before+1)
			got := waitDropEntry(t, log, tc.reason)
			if got.Client != "127.0.0.1" || got.Frontend != engine.FrontendRADIUS || got.Result != audit.ResultDropped ||
				got.Detail["count"] != "1" || got.Detail["radius_client"] != tc.client || got.Reason == "" {
				t.Errorf("audit entry %+v", got)
			}
		})
	}
}

// TestDropAuditIsAggregated: a flood from one address is one audit entry
// per reason and window, carrying the exact count; the count still open
// at shutdown is written then.
func TestDropAuditIsAggregated(t *testing.T) {
	e, log := auditEnv(t, nil)
	labels := map[string]string{"reason": "bad_authenticator"}
	before := metricstest.Value(t, "authd_radius_dropped_total", labels)
	const n = 50
	for i := 0; i < n; i++ {
		b := sign(t, accessRequest("alice", pw("secret")))
		b[len(b)-1] ^= 1
		e.raw(b, 0)
	}
	metricstest.Wait(t, "authd_radius_dropped_total", labels, before+n)
	waitDropEntry(t, log, "bad_authenticator")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	entries := dropEntries(t, log)
	total := 0
	for _, en := range entries {
		c, _ := strconv.Atoi(en.Detail["count"])
		total += c
	}
	// The first flush may come before or after all n: one or two entries
	// (the window is a minute), never one per packet.
	if total != n || len(entries) > 2 {
		t.Fatalf("%d entries counting %d packets, want at most 2 counting %d: %+v", len(entries), total, n, entries)
	}
}

// TestDropAuditBoundsSources: beyond MaxDropAuditSources addresses in a
// window, drops are aggregated under "*", so a spoofed-source flood
// writes a bounded number of entries.
func TestDropAuditBoundsSources(t *testing.T) {
	var mu sync.Mutex
	var got []audit.Entry
	d := newDropAudit(audit.Func(func(_ context.Context, e audit.Entry) {
		mu.Lock()
		got = append(got, e)
		mu.Unlock()
	}), Limits{DropAuditWindow: time.Minute, MaxDropAuditSources: 2})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= 10; i++ {
		d.note(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), dropUnknownClient, "", "unknown client", now)
	}
	d.flush(now, false)
	// Within the window: counted, not written.
	d.note(netip.AddrFrom4([4]byte{192, 0, 2, 1}), dropUnknownClient, "", "unknown client", now.Add(time.Second))
	d.flush(now.Add(2*time.Second), false)
	want := map[string]string{"192.0.2.1": "1", "192.0.2.2": "1", "*": "8"}
	if len(got) != len(want) {
		t.Fatalf("entries %+v, want %v", got, want)
	}
	for _, e := range got {
		if want[e.Client] != e.Detail["count"] {
			t.Errorf("%s: count %s, want %s", e.Client, e.Detail["count"], want[e.Client])
		}
	}
	// The window ends: the pending count is written.
	d.flush(now.Add(time.Minute+time.Second), false)
	if len(got) != 4 || got[3].Client != "192.0.2.1" || got[3].Detail["count"] != "1" {
		t.Fatalf("after the window: %+v", got)
	}
	// Quiet keys are forgotten after a whole window.
	d.flush(now.Add(3*time.Minute), false)
	if n := len(d.sources); n != 0 {
		t.Errorf("%d keys kept after a quiet window", n)
	}
}

// TestRequestsAreCounted: answered requests count by result in
// authd_requests_total{frontend="radius"}.
func TestRequestsAreCounted(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		result string
		req    *radius.Packet
		want   radius.Code
	}{
		{"success", accessRequest("alice", pw("secret")), radius.CodeAccessAccept},
		{"failure", accessRequest("alice", pw("wrong")), radius.CodeAccessReject},
		{"challenge", accessRequest("alice", pw("secret"), nasID("mfa")), radius.CodeAccessChallenge},
	}
	for _, tc := range cases {
		t.Run(tc.result, func(t *testing.T) {
			labels := map[string]string{"frontend": "radius", "result": tc.result}
			before := metricstest.Value(t, "authd_requests_total", labels)
			if r := e.exchange(tc.req); r.Code != tc.want {
				t.Fatalf("got %v, want %v", r.Code, tc.want)
			}
			metricstest.Wait(t, "authd_requests_total", labels, before+1)
		})
	}
}

// TestHeldRequestsGauge: authd_radius_held_requests follows Server.Held,
// as authd run installs it.
func TestHeldRequestsGauge(t *testing.T) {
	e := newEnv(t, nil)
	metrics.SetHeldRADIUS(e.srv.Held)
	defer metrics.SetHeldRADIUS(nil)
	done := make(chan *radius.Packet, 1)
	go func() {
		r, _ := e.try(accessRequest("alice", pw("secret"), nasID("push")), 20*time.Second)
		done <- r
	}()
	id := <-e.pusher.waiting
	e.waitHeld(1)
	metricstest.Wait(t, "authd_radius_held_requests", nil, 1)
	e.answer(id, "approve")
	if r := <-done; r == nil || r.Code != radius.CodeAccessAccept {
		t.Fatalf("got %v, want Access-Accept", codeOf(r))
	}
	metricstest.Wait(t, "authd_radius_held_requests", nil, 0)
}

// TestRejectsWithoutAJourneyAreAudited: an Access-Reject that no journey
// answered (no policy, an unknown State, CHAP) gets a journey audit entry
// of its own, as the engine writes one for every journey that ends.
func TestRejectsWithoutAJourneyAreAudited(t *testing.T) {
	cases := []struct {
		name, reason string
		mod          func(*Config, *Options)
		req          *radius.Packet
	}{
		{"no policy", "radius: no radius_policy matches the request", func(c *Config, _ *Options) {
			c.Policies = []Policy{{Name: "elsewhere", Clients: []string{"local6"}, Realm: "corp", Journey: "pap"}}
		}, accessRequest("alice", pw("secret"))},
		{"unknown State", "radius: unknown, expired, reused or foreign State", nil,
			accessRequest("alice", pw("123456"), nasID("mfa"), withState([]byte("0123456789abcdef0123")))},
		{"CHAP", "radius: CHAP is not supported; configure PAP on the NAS", nil,
			accessRequest("alice", nil, func(p *radius.Packet) { p.Add(attrCHAPPassword, make(radius.Attribute, 17)) })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, log := auditEnv(t, tc.mod)
			if r := e.exchange(tc.req); r.Code != radius.CodeAccessReject {
				t.Fatalf("got %v, want Access-Reject", r.Code)
			}
			p, err := log.Query(audit.Query{Kind: audit.KindJourney})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Entries) != 1 {
				t.Fatalf("%d journey entries, want 1: %+v", len(p.Entries), p.Entries)
			}
			got := p.Entries[0]
			if got.Reason != tc.reason || got.User != "alice" || got.Result != audit.ResultFailure ||
				got.Frontend != engine.FrontendRADIUS || got.Client != "127.0.0.1" || got.Detail["radius_client"] != "local" {
				t.Errorf("audit entry %+v", got)
			}
		})
	}
}
