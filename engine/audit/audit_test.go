package audit_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/engine/store/memstore"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func stores(t *testing.T) map[string]func() store.KV {
	return map[string]func() store.KV{
		"mem": func() store.KV { return memstore.New() },
		"bolt": func() store.KV {
			st, err := boltstore.Open(filepath.Join(t.TempDir(), "a.db"), boltstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
}

func TestAppendQueryFollowSweep(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			kv := open()
			clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			l, err := audit.New(kv, audit.Options{Now: clk.now})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for i := 0; i < 10; i++ {
				user := "alice"
				if i%2 == 1 {
					user = "bob"
				}
				l.Log(ctx, audit.Entry{Kind: audit.KindJourney, Realm: "corp", User: user, Result: audit.ResultSuccess, Reason: fmt.Sprint(i)})
				clk.add(time.Hour)
			}
			if l.Last() != 10 {
				t.Fatalf("last = %d", l.Last())
			}
			p, err := l.Query(audit.Query{})
			if err != nil || len(p.Entries) != 10 || p.Next != 10 || p.More {
				t.Fatalf("all: %v %+v", err, p)
			}
			for i, e := range p.Entries {
				if e.Seq != uint64(i+1) || e.Reason != fmt.Sprint(i) || e.Time.Location() != time.UTC {
					t.Fatalf("entry %d: %+v", i, e)
				}
			}
			p, _ = l.Query(audit.Query{User: "bob"})
			if len(p.Entries) != 5 || p.Entries[0].User != "bob" {
				t.Fatalf("bob: %+v", p)
			}
			// Since: the entries of the last three hours (times 7h, 8h, 9h).
			p, _ = l.Query(audit.Query{Since: clk.now().Add(-3 * time.Hour)})
			if len(p.Entries) != 3 || p.Entries[0].Reason != "7" {
				t.Fatalf("since: %+v", p)
			}
			p, _ = l.Query(audit.Query{Limit: 4})
			if len(p.Entries) != 4 || !p.More || p.Next != 4 {
				t.Fatalf("limit: %+v", p)
			}
			p, _ = l.Query(audit.Query{After: p.Next, Limit: 4})
			if len(p.Entries) != 4 || p.Entries[0].Seq != 5 {
				t.Fatalf("page 2: %+v", p)
			}

			// A follower waits for the next entry.
			got := make(chan bool)
			go func() {
				wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				got <- l.Wait(wctx, 10)
			}()
			time.Sleep(20 * time.Millisecond)
			l.Log(ctx, audit.Entry{Kind: audit.KindAdmin, Result: audit.ResultSuccess})
			if !<-got {
				t.Fatal("Wait did not see the new entry")
			}
			wctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			if l.Wait(wctx, 11) {
				t.Fatal("Wait reported an entry that does not exist")
			}
			cancel()

			// Retention removes the oldest; sequence numbers go on.
			n, err := l.Sweep(time.Date(2026, 1, 1, 4, 30, 0, 0, time.UTC))
			if err != nil || n != 5 {
				t.Fatalf("sweep: %d %v", n, err)
			}
			p, _ = l.Query(audit.Query{})
			if len(p.Entries) != 6 || p.Entries[0].Seq != 6 {
				t.Fatalf("after sweep: %+v", p)
			}
			p, _ = l.Query(audit.Query{Since: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)})
			if len(p.Entries) != 3 || p.Entries[0].Seq != 9 {
				t.Fatalf("since after sweep: %+v", p)
			}
			l2, err := audit.New(kv, audit.Options{Now: clk.now})
			if err != nil || l2.Last() != 11 {
				t.Fatalf("reopened: last %d %v", l2.Last(), err)
			}
			if seq, err := l2.Append(audit.Entry{Kind: audit.KindConfig, Result: audit.ResultSuccess}); err != nil || seq != 12 {
				t.Fatalf("append after sweep: %d %v", seq, err)
			}
			if _, err := l2.Append(audit.Entry{}); err == nil {
				t.Fatal("an entry without a kind was accepted")
			}
		})
	}
}

func TestConcurrentAppendsStayDense(t *testing.T) {
	kv := memstore.New()
	l, err := audit.New(kv, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.Log(context.Background(), audit.Entry{Kind: audit.KindJourney, Result: audit.ResultFailure})
		}()
	}
	wg.Wait()
	p, err := l.Query(audit.Query{})
	if err != nil || len(p.Entries) != 50 {
		t.Fatalf("%v %d", err, len(p.Entries))
	}
	for i, e := range p.Entries {
		if e.Seq != uint64(i+1) {
			t.Fatalf("seq %d at %d", e.Seq, i)
		}
	}
}

func TestDescribe(t *testing.T) {
	steps := []audit.Step{
		{Node: "login", Type: "credentials", Outcome: "next"},
		{Node: "check", Type: "password_check", Outcome: "success"},
		{Node: "mfa", Type: "otp_or_push", Outcome: "push"},
		{Node: "push", Type: "push_sender", Outcome: "sent"},
		{Node: "wait", Type: "push_wait", Outcome: "done"},
		{Node: "verify", Type: "push_result_verifier", Outcome: "success"},
	}
	if got := audit.Describe("success", steps[2:], "push approved"); got != "authentication with push successful (chosen push)" {
		t.Fatal(got)
	}
	if got := audit.Describe("success", steps, ""); got != "authentication with password+push successful (chosen push)" {
		t.Fatal(got)
	}
	denied := append(steps[:5:5], audit.Step{Node: "verify", Type: "push_result_verifier", Outcome: "failure"})
	if got := audit.Describe("failure", denied, "push denied"); got != "authentication failed at verify (push denied; chosen push)" {
		t.Fatal(got)
	}
	if got := audit.Describe("failure", nil, ""); got != "authentication failed" {
		t.Fatal(got)
	}
	en := audit.Enrolments([]audit.Step{{Type: "push_registration", Outcome: "success"}, {Type: "otp_registration", Outcome: "success"}, {Type: "recovery_code_display", Outcome: "next"}})
	if fmt.Sprint(en) != "[OTP token recovery codes]" {
		t.Fatal(en)
	}
}
