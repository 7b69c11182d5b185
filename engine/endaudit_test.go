package engine_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/memstore"
)

// disturbance is what commitKV does to the next write it is given.
type disturbance int

const (
	calm         disturbance = iota
	failCommit               // the commit fails (a full disk)
	failAuditPut             // every Put to the audit bucket fails
	retryOnce                // a rolled-back try, another writer's entry, then the real try
)

// commitKV counts the write transactions that commit, and disturbs the
// next one as told, the way a store Batch may: a failed commit, or a
// function run twice (bbolt's group commit re-runs a caller's function
// alone after a shared transaction failed, while the others committed).
type commitKV struct {
	store.KV
	mu      sync.Mutex
	commits int
	next    disturbance
}

var errRolledBack = errors.New("test: this try is rolled back")

func (k *commitKV) Update(fn func(store.Tx) error) error { return k.write(fn, k.KV.Update) }
func (k *commitKV) Batch(fn func(store.Tx) error) error  { return k.write(fn, k.KV.Batch) }

func (k *commitKV) disturb(d disturbance) { k.mu.Lock(); k.next = d; k.mu.Unlock() }

func (k *commitKV) count() int { k.mu.Lock(); defer k.mu.Unlock(); return k.commits }

func (k *commitKV) write(fn func(store.Tx) error, do func(func(store.Tx) error) error) error {
	k.mu.Lock()
	d := k.next
	k.next = calm
	k.mu.Unlock()
	switch d {
	case failCommit:
		return errDiskFull
	case failAuditPut:
		inner := fn
		fn = func(tx store.Tx) error { return inner(noAuditTx{tx}) }
	case retryOnce:
		_ = do(func(tx store.Tx) error {
			if err := fn(tx); err != nil {
				return err
			}
			return errRolledBack
		})
		// Another writer's entry commits between the two tries, so the
		// retry numbers its entries differently from the first try.
		if err := do(func(tx store.Tx) error {
			n, err := tx.NextSequence(audit.Bucket)
			if err != nil {
				return err
			}
			b, _ := json.Marshal(audit.Entry{Seq: n, Time: time.Unix(0, 0).UTC(), Kind: audit.KindAdmin, Result: audit.ResultSuccess})
			var key [8]byte
			binary.BigEndian.PutUint64(key[:], n)
			return tx.Put(audit.Bucket, key[:], b)
		}); err != nil {
			return err
		}
	}
	err := do(fn)
	if err == nil {
		k.mu.Lock()
		k.commits++
		k.mu.Unlock()
	}
	return err
}

// noAuditTx refuses writes to the audit bucket.
type noAuditTx struct{ store.Tx }

var errAuditBucket = errors.New("test: the audit bucket refuses writes")

func (t noAuditTx) Put(bucket string, k, v []byte) error {
	if bucket == audit.Bucket {
		return errAuditBucket
	}
	return t.Tx.Put(bucket, k, v)
}

func (t noAuditTx) NextSequence(bucket string) (uint64, error) {
	if bucket == audit.Bucket {
		return 0, errAuditBucket
	}
	return t.Tx.NextSequence(bucket)
}

// txRecorder is an audit.TxLogger over a real log that remembers what
// the engine announced as committed and what it logged on its own.
type txRecorder struct {
	l         *audit.Log
	mu        sync.Mutex
	committed []audit.Entry
	logged    []audit.Entry
}

func (r *txRecorder) Log(ctx context.Context, e audit.Entry) {
	r.mu.Lock()
	r.logged = append(r.logged, e)
	r.mu.Unlock()
	r.l.Log(ctx, e)
}

func (r *txRecorder) AppendTx(tx store.Tx, e audit.Entry) (audit.Entry, error) {
	return r.l.AppendTx(tx, e)
}

func (r *txRecorder) Committed(ctx context.Context, es ...audit.Entry) {
	r.mu.Lock()
	r.committed = append(r.committed, es...)
	r.mu.Unlock()
	r.l.Committed(ctx, es...)
}

func (r *txRecorder) reset() { r.mu.Lock(); r.committed, r.logged = nil, nil; r.mu.Unlock() }

func (r *txRecorder) seen() (committed, logged []audit.Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]audit.Entry(nil), r.committed...), append([]audit.Entry(nil), r.logged...)
}

// enrolProgram: name -> an OTP enrolment -> choice yes/no; and "quick",
// which succeeds in the request that starts it.
func enrolProgram(rev string) *engine.Program {
	n := func(name, typ string, nd engine.Node, edges map[engine.Outcome]string) *engine.CompiledNode {
		return &engine.CompiledNode{Name: name, Type: typ, Node: nd, Edges: edges}
	}
	enrolled := funcNode(func(context.Context, *engine.Context) (engine.Result, error) { return engine.Next("success"), nil })
	return program(rev,
		journey("login", rev+"-login", "ask",
			n("ask", "username", ask, map[engine.Outcome]string{"next": "otp"}),
			n("otp", "otp_registration", enrolled, map[engine.Outcome]string{"success": "confirm"}),
			n("confirm", "choice", pick, map[engine.Outcome]string{"yes": "success", "no": "failure"}),
		),
		journey("quick", rev+"-quick", "go", n("go", "test", pass, map[engine.Outcome]string{"next": "success"})),
	)
}

// kindResult is what the test compares of an entry.
type kindResult struct{ Kind, Result string }

// TestJourneyEndCommitsWithItsTombstone: the entries of a journey's end
// are written in the transaction that saves the session's tombstone (one
// commit), with the sequence numbers of the try that committed; when that
// transaction fails, neither the tombstone nor the entries are stored,
// the request fails, and the failure is audited on its own.
func TestJourneyEndCommitsWithItsTombstone(t *testing.T) {
	ok := kindResult{audit.KindJourney, audit.ResultSuccess}
	enrolled := kindResult{audit.KindEnrollment, audit.ResultSuccess}
	failed := kindResult{audit.KindJourney, audit.ResultFailure}
	broken := kindResult{audit.KindJourney, audit.ResultError}
	interloper := kindResult{audit.KindAdmin, audit.ResultSuccess}
	cases := []struct {
		name    string
		journey string // "login" (resumed, saves a tombstone) or "quick"
		choice  string
		disturb disturbance
		wantErr bool
		// wantCommits counts the write commits of the request that ends
		// the journey.
		wantCommits   int
		wantStored    []kindResult // the new entries in the log, in order
		wantCommitted int          // entries announced by Committed
		wantLogged    []kindResult // entries written on their own (Log)
		wantFinished  bool
	}{
		{name: "success with an enrolment: one commit", journey: "login", choice: "yes",
			wantCommits: 1, wantStored: []kindResult{ok, enrolled}, wantCommitted: 2, wantFinished: true},
		{name: "failure: one commit", journey: "login", choice: "no",
			wantCommits: 1, wantStored: []kindResult{failed}, wantCommitted: 1, wantFinished: true},
		{name: "batch retried: the committed try's numbers", journey: "login", choice: "yes", disturb: retryOnce,
			wantCommits: 1, wantStored: []kindResult{interloper, ok, enrolled}, wantCommitted: 2, wantFinished: true},
		{name: "commit fails: neither stored, the error logged alone", journey: "login", choice: "yes", disturb: failCommit,
			wantErr: true, wantCommits: 1, wantStored: []kindResult{broken}, wantLogged: []kindResult{broken}},
		{name: "audit write fails: the save fails with it", journey: "login", choice: "yes", disturb: failAuditPut,
			wantErr: true, wantCommits: 1, wantStored: []kindResult{broken}, wantLogged: []kindResult{broken}},
		{name: "finished where it started: no tombstone, logged alone", journey: "quick",
			wantCommits: 1, wantStored: []kindResult{ok}, wantLogged: []kindResult{ok}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kv := &commitKV{KV: memstore.New()}
			clk := &fakeClock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
			al, err := audit.New(kv, audit.Options{Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			rec := &txRecorder{l: al}
			e := engine.New(engine.Options{KV: kv, Clock: clk, Audit: rec})
			e.Load(enrolProgram("r1"))
			ctx := context.Background()

			var id string
			end := func() (*engine.Response, error) {
				return e.Start(ctx, "corp", "quick", engine.Request{Protocol: "api"})
			}
			if tc.journey == "login" {
				r, err := e.Start(ctx, "corp", "login", engine.Request{Protocol: "api"})
				if err != nil {
					t.Fatal(err)
				}
				id = r.Session
				if r, err = e.Resume(ctx, id, []engine.Callback{{ID: "username", Value: str("alice")}}, engine.Request{}); err != nil || r.Node != "confirm" {
					t.Fatalf("%v %+v", err, r)
				}
				end = func() (*engine.Response, error) {
					return e.Resume(ctx, id, []engine.Callback{{ID: "choice", Value: str(tc.choice)}}, engine.Request{})
				}
			}
			before := al.Last()
			// A follower waiting for the next entry must be woken by
			// the end, however it is written.
			woken := make(chan bool, 1)
			waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			go func() { woken <- al.Wait(waitCtx, before) }()
			rec.reset()
			c0 := kv.count()
			kv.disturb(tc.disturb)

			r, err := end()
			if (err != nil) != tc.wantErr {
				t.Fatalf("end: %+v %v", r, err)
			}
			if got := kv.count() - c0; got != tc.wantCommits {
				t.Errorf("%d commits for the end; want %d", got, tc.wantCommits)
			}
			page, err := al.Query(audit.Query{After: before})
			if err != nil {
				t.Fatal(err)
			}
			var stored []kindResult
			for _, en := range page.Entries {
				stored = append(stored, kindResult{en.Kind, en.Result})
			}
			if !reflect.DeepEqual(stored, tc.wantStored) {
				t.Errorf("stored %v; want %v", stored, tc.wantStored)
			}
			committed, logged := rec.seen()
			if len(committed) != tc.wantCommitted {
				t.Errorf("%d entries announced as committed; want %d", len(committed), tc.wantCommitted)
			}
			// What was announced is exactly what is stored, sequence
			// numbers included (those of the try that committed).
			bySeq := map[uint64]audit.Entry{}
			for _, en := range page.Entries {
				bySeq[en.Seq] = en
			}
			for _, c := range committed {
				if s, ok := bySeq[c.Seq]; !ok || !reflect.DeepEqual(s, c) {
					t.Errorf("announced %+v; stored under its number: %+v", c, s)
				}
			}
			var loggedKR []kindResult
			for _, en := range logged {
				loggedKR = append(loggedKR, kindResult{en.Kind, en.Result})
			}
			if !reflect.DeepEqual(loggedKR, tc.wantLogged) {
				t.Errorf("logged alone %v; want %v", loggedKR, tc.wantLogged)
			}
			if last := al.Last(); len(page.Entries) > 0 && last != page.Entries[len(page.Entries)-1].Seq {
				t.Errorf("Last() = %d; want the newest stored %d", last, page.Entries[len(page.Entries)-1].Seq)
			}
			if !<-woken {
				t.Error("a follower was not woken by the end's entry")
			}
			if id != "" {
				s, err := e.Session(id)
				if err != nil {
					t.Fatal(err)
				}
				if s.Finished != tc.wantFinished {
					t.Errorf("session finished: %v; want %v", s.Finished, tc.wantFinished)
				}
			}
		})
	}
}
