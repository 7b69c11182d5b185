package audit_test

import (
	"context"
	"errors"
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

// TestAppendTxCommitsWithTheCallersTransaction: an entry appended in a
// caller's transaction exists only if that transaction commits, keeps the
// log dense when it does not, and is announced (Last, followers) only by
// Committed.
func TestAppendTxCommitsWithTheCallersTransaction(t *testing.T) {
	errCaller := errors.New("the caller's own write failed")
	cases := []struct {
		name     string
		entry    audit.Entry
		callerFn func(store.Tx) error // the caller's other write in the same transaction
		wantErr  bool
		wantSeqs []uint64 // in the log afterwards (one entry logged before)
	}{
		{name: "committed with the caller's write", entry: audit.Entry{Kind: audit.KindJourney, Result: audit.ResultSuccess},
			callerFn: func(tx store.Tx) error { return tx.Put("sessions", []byte("s1"), []byte("tombstone")) }, wantSeqs: []uint64{1, 2}},
		{name: "the caller's write fails: no entry, no gap", entry: audit.Entry{Kind: audit.KindJourney, Result: audit.ResultSuccess},
			callerFn: func(store.Tx) error { return errCaller }, wantErr: true, wantSeqs: []uint64{1}},
		{name: "an entry without a kind fails the transaction", entry: audit.Entry{Result: audit.ResultSuccess},
			callerFn: func(tx store.Tx) error { return tx.Put("sessions", []byte("s1"), []byte("tombstone")) }, wantErr: true, wantSeqs: []uint64{1}},
	}
	for name, open := range stores(t) {
		for _, tc := range cases {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				kv := open()
				when := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
				l, err := audit.New(kv, audit.Options{Now: func() time.Time { return when }})
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				l.Log(ctx, audit.Entry{Kind: audit.KindConfig, Result: audit.ResultSuccess})
				woken := make(chan bool, 1)
				waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
				defer cancel()
				if !tc.wantErr {
					go func() { woken <- l.Wait(waitCtx, 1) }()
				}

				var written audit.Entry
				err = kv.Batch(func(tx store.Tx) error {
					var err error
					if written, err = l.AppendTx(tx, tc.entry); err != nil {
						return err
					}
					return tc.callerFn(tx)
				})
				if (err != nil) != tc.wantErr {
					t.Fatalf("transaction: %v", err)
				}
				if l.Last() != 1 {
					t.Errorf("Last() = %d before Committed; want 1", l.Last())
				}
				if err == nil {
					l.Committed(ctx, written)
					if l.Last() != written.Seq || !<-woken {
						t.Errorf("after Committed: Last() = %d, want %d; or a follower was not woken", l.Last(), written.Seq)
					}
				}
				p, err := l.Query(audit.Query{})
				if err != nil {
					t.Fatal(err)
				}
				var seqs []uint64
				for _, e := range p.Entries {
					seqs = append(seqs, e.Seq)
				}
				if fmt.Sprint(seqs) != fmt.Sprint(tc.wantSeqs) {
					t.Fatalf("entries %v; want %v", seqs, tc.wantSeqs)
				}
				if !tc.wantErr {
					got := p.Entries[len(p.Entries)-1]
					if got.Seq != written.Seq || !got.Time.Equal(when) || got.Kind != tc.entry.Kind {
						t.Errorf("stored %+v; AppendTx returned %+v", got, written)
					}
				}
				// The log goes on densely after a rolled-back append.
				if seq, err := l.Append(audit.Entry{Kind: audit.KindAdmin, Result: audit.ResultSuccess}); err != nil || seq != uint64(len(tc.wantSeqs)+1) {
					t.Errorf("next Append: seq %d, %v; want %d", seq, err, len(tc.wantSeqs)+1)
				}
			})
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
