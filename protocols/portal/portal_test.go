package portal_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/protocols/portal"
)

// receiver is the application's callback endpoint: it fails the first
// failFirst requests with 503 and records every request.
type receiver struct {
	mu        sync.Mutex
	failFirst int
	calls     int
	results   []portal.Result
	auths     []string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	u, p, ok := req.BasicAuth()
	if ok {
		r.auths = append(r.auths, u+":"+p)
	} else {
		r.auths = append(r.auths, "")
	}
	if r.calls <= r.failFirst {
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	var res portal.Result
	if err := json.NewDecoder(req.Body).Decode(&res); err != nil || req.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	r.results = append(r.results, res)
}

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

type auditLog struct {
	mu      sync.Mutex
	entries []audit.Entry
}

func (a *auditLog) Log(_ context.Context, e audit.Entry) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, e)
}

func (a *auditLog) kind(k string) []audit.Entry {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []audit.Entry
	for _, e := range a.entries {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

const sessionID = "0123456789abcdef0123456789abcdef"

func journeyEnd(result string) audit.Entry {
	return audit.Entry{Kind: audit.KindJourney, Realm: "corp", Journey: "push", User: "alice", Session: sessionID[:8], Result: result, Reason: "push approved"}
}

func TestDeliveryRetriesWithBackoff(t *testing.T) {
	tests := []struct {
		name       string
		failFirst  int
		auth       *portal.Auth
		maxAtt     int
		wantCalls  int
		delivered  bool
		wantResult string
	}{
		{"first attempt, no auth", 0, nil, 5, 1, true, audit.ResultSuccess},
		{"basic auth", 0, &portal.Auth{Username: "authd", Password: "cb-pass"}, 5, 1, true, audit.ResultSuccess},
		{"two failures then success", 2, &portal.Auth{Username: "authd", Password: "cb-pass"}, 5, 3, true, audit.ResultSuccess},
		{"gives up after max attempts", 10, nil, 3, 3, false, audit.ResultFailure},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rcv := &receiver{failFirst: tc.failFirst}
			srv := httptest.NewServer(rcv)
			defer srv.Close()
			clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
			al := &auditLog{}
			var delays []int
			d := portal.New(portal.Options{
				KV: memstore.New(), Audit: al, Now: clk.Now, MaxAttempts: tc.maxAtt,
				Backoff: func(n int) time.Duration {
					delays = append(delays, n)
					return portal.ExponentialBackoff(time.Second, time.Minute)(n)
				},
				Auth: func(c string) (portal.Auth, bool) {
					if c != "portal" || tc.auth == nil {
						return portal.Auth{}, false
					}
					return *tc.auth, true
				},
			})
			if err := d.Expect(portal.Expectation{Session: sessionID, Realm: "corp", Journey: "push", User: "alice", Client: "portal", CallbackURL: srv.URL + "/result"}); err != nil {
				t.Fatal(err)
			}
			obs := d.Observe(al)
			obs.Log(context.Background(), journeyEnd(audit.ResultSuccess))
			// A second end (a replay, another session with the same
			// prefix in another journey) queues nothing more.
			obs.Log(context.Background(), journeyEnd(audit.ResultSuccess))

			var gaps []time.Duration
			for i := 0; i < 20; i++ {
				next, err := d.DeliverDue(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if next.IsZero() {
					break
				}
				gaps = append(gaps, next.Sub(clk.t))
				clk.t = next
			}
			if rcv.calls != tc.wantCalls {
				t.Errorf("callback received %d times; want %d", rcv.calls, tc.wantCalls)
			}
			// Exponential: 1s, 2s, 4s, ...
			for i, g := range gaps {
				if want := time.Second << i; g != want {
					t.Errorf("retry %d after %v; want %v", i+1, g, want)
				}
			}
			// Every failed attempt but the last schedules a retry.
			if len(delays) != tc.wantCalls-1 {
				t.Errorf("backoff asked %d times; want %d", len(delays), tc.wantCalls-1)
			}
			if tc.delivered {
				if len(rcv.results) != 1 {
					t.Fatalf("results = %+v", rcv.results)
				}
				r := rcv.results[0]
				if r.Outcome != "success" || r.User != "alice" || r.Session != sessionID || r.Journey != "push" || r.Reason != "push approved" || r.Time.IsZero() {
					t.Errorf("result = %+v", r)
				}
			}
			for _, a := range rcv.auths {
				want := ""
				if tc.auth != nil {
					want = tc.auth.Username + ":" + tc.auth.Password
				}
				if a != want {
					t.Errorf("basic auth %q; want %q", a, want)
				}
			}
			attempts := al.kind(portal.KindCallback)
			if len(attempts) != tc.wantCalls {
				t.Fatalf("%d callback audit entries; want %d", len(attempts), tc.wantCalls)
			}
			for i, e := range attempts {
				if e.Detail["attempt"] != strconv.Itoa(i+1) || e.Session != sessionID[:8] || e.User != "alice" {
					t.Errorf("audit entry %d = %+v", i, e)
				}
				for _, s := range []string{"cb-pass"} {
					if strings.Contains(e.Reason, s) || strings.Contains(e.Detail["url"], s) {
						t.Errorf("audit entry reveals the callback password: %+v", e)
					}
				}
			}
			if last := attempts[len(attempts)-1]; last.Result != tc.wantResult {
				t.Errorf("last attempt result %q; want %q (%s)", last.Result, tc.wantResult, last.Reason)
			}
			if !tc.delivered && !strings.Contains(attempts[len(attempts)-1].Reason, "giving up") {
				t.Errorf("last reason %q does not say it gave up", attempts[len(attempts)-1].Reason)
			}
			if n, _ := d.Pending(); n != 0 {
				t.Errorf("%d deliveries still pending", n)
			}
		})
	}
}

func TestRestartResumesDelivery(t *testing.T) {
	rcv := &receiver{failFirst: 1}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	kv := memstore.New()
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	d1 := portal.New(portal.Options{KV: kv, Now: clk.Now})
	if err := d1.Expect(portal.Expectation{Session: sessionID, Realm: "corp", Journey: "push", User: "alice", Client: "portal", CallbackURL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	d1.Observe(nil).Log(context.Background(), journeyEnd(audit.ResultFailure))
	next, err := d1.DeliverDue(context.Background())
	if err != nil || next.IsZero() {
		t.Fatalf("first attempt: next %v, err %v; want a retry", next, err)
	}
	// "Restart": a new dispatcher over the same store picks it up.
	clk.t = next
	d2 := portal.New(portal.Options{KV: kv, Now: clk.Now})
	if next, err := d2.DeliverDue(context.Background()); err != nil || !next.IsZero() {
		t.Fatalf("after restart: next %v, err %v", next, err)
	}
	if len(rcv.results) != 1 || rcv.results[0].Outcome != "failure" {
		t.Fatalf("results = %+v; want one failure", rcv.results)
	}
}

func TestUnrelatedJourneyEndsIgnored(t *testing.T) {
	kv := memstore.New()
	d := portal.New(portal.Options{KV: kv})
	if err := d.Expect(portal.Expectation{Session: sessionID, Realm: "corp", Journey: "push", Client: "portal", CallbackURL: "http://127.0.0.1:1/"}); err != nil {
		t.Fatal(err)
	}
	obs := d.Observe(nil)
	for _, e := range []audit.Entry{
		{Kind: audit.KindJourney, Realm: "corp", Journey: "other", Session: sessionID[:8]},
		{Kind: audit.KindJourney, Realm: "corp", Journey: "push", Session: "ffffffff"},
		{Kind: audit.KindEnrollment, Realm: "corp", Journey: "push", Session: sessionID[:8]},
	} {
		obs.Log(context.Background(), e)
	}
	if n, _ := d.Pending(); n != 0 {
		t.Errorf("%d deliveries queued for journeys nobody expected", n)
	}
}

// TestObserveSeesStoredJourneyEnds: over a log that appends inside the
// engine's transaction, the observer is one too and sees a journey's end
// once it committed (Committed), never from an append alone; over a plain
// Logger it sees the end in Log.
func TestObserveSeesStoredJourneyEnds(t *testing.T) {
	cases := []struct {
		name string
		// inTx: wrap the store's audit.Log (as authd run does) rather
		// than a plain Logger.
		inTx bool
		// commit: the transaction holding the append commits.
		commit      bool
		wantPending int
	}{
		{name: "plain logger: seen in Log", wantPending: 1},
		{name: "store log: seen once committed", inTx: true, commit: true, wantPending: 1},
		{name: "store log: a rolled-back append is not an end", inTx: true, wantPending: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kv := memstore.New()
			d := portal.New(portal.Options{KV: kv})
			if err := d.Expect(portal.Expectation{Session: sessionID, Realm: "corp", Journey: "push", Client: "portal", CallbackURL: "http://127.0.0.1:1/"}); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if !tc.inTx {
				obs := d.Observe(&auditLog{})
				if _, ok := obs.(audit.TxLogger); ok {
					t.Fatal("the observer of a plain Logger claims to append in a transaction")
				}
				obs.Log(ctx, journeyEnd(audit.ResultSuccess))
			} else {
				al, err := audit.New(kv, audit.Options{})
				if err != nil {
					t.Fatal(err)
				}
				obs, ok := d.Observe(al).(audit.TxLogger)
				if !ok {
					t.Fatal("the observer of the store's log cannot append in a transaction: journey ends would cost a second commit")
				}
				errRollback := errors.New("rolled back")
				var written audit.Entry
				err = kv.Update(func(tx store.Tx) error {
					var err error
					if written, err = obs.AppendTx(tx, journeyEnd(audit.ResultSuccess)); err != nil {
						return err
					}
					if !tc.commit {
						return errRollback
					}
					return nil
				})
				if tc.commit != (err == nil) {
					t.Fatalf("transaction: %v", err)
				}
				if n, _ := d.Pending(); n != 0 {
					t.Fatalf("%d deliveries queued before the commit was announced", n)
				}
				if tc.commit {
					obs.Committed(ctx, written)
					if al.Last() != written.Seq {
						t.Errorf("the log was not told of the commit: Last() = %d, want %d", al.Last(), written.Seq)
					}
				}
			}
			if n, _ := d.Pending(); n != tc.wantPending {
				t.Errorf("%d deliveries queued; want %d", n, tc.wantPending)
			}
		})
	}
}

func TestExponentialBackoff(t *testing.T) {
	b := portal.ExponentialBackoff(2*time.Second, 10*time.Second)
	for n, want := range map[int]time.Duration{1: 2 * time.Second, 2: 4 * time.Second, 3: 8 * time.Second, 4: 10 * time.Second, 50: 10 * time.Second} {
		if got := b(n); got != want {
			t.Errorf("backoff(%d) = %v; want %v", n, got, want)
		}
	}
}
