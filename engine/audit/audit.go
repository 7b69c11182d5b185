// Package audit is authd's append-only audit log: one entry for every
// journey that ends, every enrolment, device removal, admin action,
// rejected push answer and dropped RADIUS packet, kept in the store beside
// the data it is about, so a backup carries its history and `authd audit`
// reads it whether or not the server runs.
//
// Entries are only ever appended (under increasing sequence numbers) and
// removed from the old end by the retention sweep; nothing rewrites one.
// An entry never holds a secret: callers pass names, addresses and
// reasons, never passwords, codes, tokens or full session ids.
//
// Other packages record through the small Logger interface; the engine
// hands its Logger to nodes and front ends as Services.Audit, so a caller
// never needs to know where the log lives:
//
//	svc.Audit.Log(ctx, audit.Entry{Kind: audit.KindDeviceRemoved, Realm: r, User: u, Result: audit.ResultSuccess, Reason: "device 3f2a… removed by the user"})
//
// A writer whose change and entry must be durable together appends inside
// its own transaction instead (TxLogger: AppendTx in the transaction,
// Committed after it). The engine does so for a journey's end: the
// journey entry and its enrolment entries commit with the session's
// tombstone, so a finished login waits for one fsync, not two, and a
// journey end is never stored without its entry (a failed append fails
// the save, which the engine then audits as an error with Log). Ends that
// store no tombstone (a journey finished in the request that started it,
// an expired session the sweeper removes, a failed save) are logged with
// Log as before.
package audit

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authd/authd/engine/metrics"
	"github.com/authd/authd/engine/store"
)

// Bucket is the store bucket of the log: key = 8-byte big-endian sequence
// number, value = the entry as JSON.
const Bucket = "audit"

// DefaultRetention is how long entries are kept when nothing else is
// configured: long enough for a quarterly review.
const DefaultRetention = 90 * 24 * time.Hour

// Kinds of entries.
const (
	KindJourney       = "journey"           // a journey ended (success, failure or error)
	KindEnrollment    = "enrollment"        // a device, OTP token or recovery codes were enrolled
	KindDeviceRemoved = "device_removed"    // a push device or OTP token was removed
	KindAdmin         = "admin"             // an admin operation (CLI or admin socket)
	KindPushRejected  = "push_rejected"     // a device's push answer was refused
	KindPushReported  = "push_reported"     // "deny and report": the user says a push was not theirs
	KindRADIUSDropped = "radius_dropped"    // a RADIUS packet was dropped unanswered
	KindAccounting    = "radius_accounting" // a NAS reported a session start, stop or update (Accounting-Request)
	KindConfig        = "config"            // the configuration was loaded or a reload refused
	KindCallback      = "callback"          // a journey's result delivered to an application (protocols/portal)
)

// Kinds lists every kind authd writes, for the tools that filter on one
// (authd audit -kind): a misspelt kind must be an error, not an empty log.
var Kinds = []string{KindJourney, KindEnrollment, KindDeviceRemoved, KindAdmin, KindPushRejected,
	KindPushReported, KindRADIUSDropped, KindAccounting, KindConfig, KindCallback}

// Results.
const (
	ResultSuccess  = "success"
	ResultFailure  = "failure"
	ResultError    = "error"    // authd failed (a store error), not the user
	ResultRejected = "rejected" // refused input (push answers, admin calls)
	ResultDropped  = "dropped"  // RADIUS packets
)

// Entry is one audit record. Seq and Time are set by the log when the
// entry is appended (Time only when zero).
type Entry struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"`
	Realm    string    `json:"realm,omitempty"`
	User     string    `json:"user,omitempty"`
	Journey  string    `json:"journey,omitempty"`
	Frontend string    `json:"frontend,omitempty"` // api, radius, oauth, push, admin, cli
	// Client is the address the request came from (the NAS for RADIUS).
	Client string `json:"client,omitempty"`
	// Path lists the nodes a journey visited, in order.
	Path   []string `json:"path,omitempty"`
	Result string   `json:"result"`
	// Reason says why, in words an operator reads: "authentication with
	// push successful (chosen push)".
	Reason    string `json:"reason,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// Session is the first characters of the session id, enough to find
	// the session's log lines without being able to resume it.
	Session string `json:"session,omitempty"`
	// Actor is who acted for admin entries: "uid 1000 pid 4242".
	Actor string `json:"actor,omitempty"`
	// Detail holds further fields of the kind (device id, op name, NAS
	// identifier). Never secrets.
	Detail map[string]string `json:"detail,omitempty"`
}

// Logger records audit entries. Log never fails the caller: a store error
// is logged and counted (authd_audit_write_errors_total) by the
// implementation, because refusing a login or a packet because its audit
// line could not be written would turn a full disk into an outage of its
// own. Implementations are safe for concurrent use.
type Logger interface {
	Log(ctx context.Context, e Entry)
}

// TxLogger is a Logger that can also write entries inside a store
// transaction its caller owns, so an entry commits together with the
// change it records: the engine writes a journey's entry in the same
// transaction as the session's tombstone, and a finished login then
// waits for one commit (one fsync) instead of two. Loggers that cannot
// (Discard, Func, a test's collector) do not implement it; callers then
// Log after their own commit. A wrapper of a Logger (the portal
// dispatcher's observer) implements it only when what it wraps does.
type TxLogger interface {
	Logger
	// AppendTx writes e in tx under the bucket's next sequence number and
	// returns the entry as written (Seq set; Time set when zero, in
	// UTC). Unlike Log it fails the caller: the caller decides, and the
	// engine fails the whole transaction, so a change is never stored
	// without its entry. Nothing is announced (followers, metrics, the
	// mirror) until Committed. A transaction function that runs more than
	// once (store.KV.Batch) calls AppendTx again in each try and keeps the
	// entries of the last one: each try is its own transaction, and a
	// rolled-back try leaves no entry and no sequence number behind.
	AppendTx(tx store.Tx, e Entry) (Entry, error)
	// Committed announces entries AppendTx wrote, once their transaction
	// has committed: it wakes followers (Wait), counts them
	// (authd_audit_entries_total) and mirrors them to the log. It must
	// not be called for a transaction that failed.
	Committed(ctx context.Context, es ...Entry)
}

// Discard is a Logger that drops every entry (the engine's default, for
// tests and embedders without a store).
var Discard Logger = discard{}

type discard struct{}

func (discard) Log(context.Context, Entry) {}

// Func adapts a function to a Logger (tests collect entries with it).
type Func func(ctx context.Context, e Entry)

// Log calls f.
func (f Func) Log(ctx context.Context, e Entry) { f(ctx, e) }

// Options tune a Log.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log receives write errors, and, when Mirror is set, every entry.
	Log *slog.Logger
	// Mirror copies every entry into Log at Info ("msg=audit"), so
	// operators who ship logs see the trail there too.
	Mirror bool
}

// Log is the audit log in a store.KV. It is safe for concurrent use.
type Log struct {
	kv     store.KV
	now    func() time.Time
	log    *slog.Logger
	mirror bool

	last atomic.Uint64 // highest sequence appended (or found at start)
	mu   sync.Mutex
	wait chan struct{} // closed and replaced on every append
}

var _ Logger = (*Log)(nil)

// New opens the audit log kept in kv.
func New(kv store.KV, o Options) (*Log, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	l := &Log{kv: kv, now: o.Now, log: o.Log, mirror: o.Mirror, wait: make(chan struct{})}
	err := kv.View(func(tx store.Tx) error {
		last, err := lastSeq(tx)
		l.last.Store(last)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("audit: reading the log: %w", err)
	}
	return l, nil
}

func key(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

// Log appends e; on failure it logs the error (without the entry's
// reason, which may name a user) and counts it.
func (l *Log) Log(ctx context.Context, e Entry) {
	if _, err := l.Append(e); err != nil {
		metrics.AuditFailed()
		l.log.ErrorContext(ctx, "audit entry lost", "kind", e.Kind, "err", err)
	}
}

// Append writes e in a transaction of its own and returns the sequence
// number it got.
func (l *Log) Append(e Entry) (uint64, error) {
	if e.Kind == "" {
		// Checked before the store is touched, so a bad call costs no commit.
		return 0, errors.New("audit: entry without a kind")
	}
	var written Entry
	err := l.kv.Batch(func(tx store.Tx) error {
		var err error
		written, err = l.AppendTx(tx, e)
		return err
	})
	if err != nil {
		return 0, err
	}
	l.Committed(context.Background(), written)
	return written.Seq, nil
}

var _ TxLogger = (*Log)(nil)

// AppendTx writes e in the caller's transaction tx (see TxLogger); the
// caller calls Committed with the result once tx has committed.
func (l *Log) AppendTx(tx store.Tx, e Entry) (Entry, error) {
	if e.Kind == "" {
		return e, errors.New("audit: entry without a kind")
	}
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	e.Time = e.Time.UTC()
	n, err := tx.NextSequence(Bucket)
	if err != nil {
		return e, fmt.Errorf("audit: numbering the entry: %w", err)
	}
	e.Seq = n
	b, err := json.Marshal(&e)
	if err != nil {
		return e, fmt.Errorf("audit: encoding the entry: %w", err)
	}
	if err := tx.Put(Bucket, key(n), b); err != nil {
		return e, fmt.Errorf("audit: writing the entry: %w", err)
	}
	return e, nil
}

// Committed announces entries AppendTx wrote in a transaction that
// committed (see TxLogger): Last moves up to the highest of them,
// followers wake, and each is counted and mirrored.
func (l *Log) Committed(_ context.Context, es ...Entry) {
	if len(es) == 0 {
		return
	}
	for _, e := range es {
		for {
			cur := l.last.Load()
			if e.Seq <= cur || l.last.CompareAndSwap(cur, e.Seq) {
				break
			}
		}
	}
	l.mu.Lock()
	close(l.wait)
	l.wait = make(chan struct{})
	l.mu.Unlock()
	for i := range es {
		metrics.AuditWritten(es[i].Kind)
		if l.mirror {
			l.log.Info("audit", es[i].attrs()...)
		}
	}
}

func (e *Entry) attrs() []any {
	a := []any{"kind", e.Kind, "result", e.Result}
	add := func(k, v string) {
		if v != "" {
			a = append(a, k, v)
		}
	}
	add("realm", e.Realm)
	add("user", e.User)
	add("journey", e.Journey)
	add("frontend", e.Frontend)
	add("client", e.Client)
	if len(e.Path) > 0 {
		a = append(a, "path", strings.Join(e.Path, ">"))
	}
	add("reason", e.Reason)
	add("request_id", e.RequestID)
	add("session", e.Session)
	add("actor", e.Actor)
	for _, k := range sortedKeys(e.Detail) {
		a = append(a, "detail."+k, e.Detail[k])
	}
	a = append(a, "seq", e.Seq)
	return a
}

// Last returns the highest sequence number written so far.
func (l *Log) Last() uint64 { return l.last.Load() }

// Query selects entries. The zero Query returns the oldest entries.
type Query struct {
	// After returns entries with a higher sequence number only (the
	// cursor of a follower).
	After uint64
	// Since returns entries at or after this time only.
	Since time.Time
	User  string
	Realm string
	Kind  string
	// Limit bounds the entries returned (default and maximum MaxLimit).
	Limit int
}

// MaxLimit bounds one Query's answer; callers page with After.
const MaxLimit = 1000

// maxScan bounds the entries one Query examines, so a filter that matches
// little cannot hold a read transaction over the whole log; the answer
// says More and the caller pages on from Next.
const maxScan = 100_000

func (q *Query) match(e *Entry) bool {
	return (q.Since.IsZero() || !e.Time.Before(q.Since)) &&
		(q.User == "" || e.User == q.User) &&
		(q.Realm == "" || e.Realm == q.Realm) &&
		(q.Kind == "" || e.Kind == q.Kind)
}

// Page is a Query's answer. Next is the cursor to pass as After to read
// on: the last sequence number examined, which may be higher than the
// last entry returned when the filter skipped some.
type Page struct {
	Entries []Entry `json:"entries"`
	Next    uint64  `json:"next"`
	// More is set when Limit cut the answer short.
	More bool `json:"more,omitempty"`
}

// Query reads entries in sequence order.
func (l *Log) Query(q Query) (*Page, error) { return QueryKV(l.kv, q) }

// QueryKV is Query on a store without a Log (read-only tools).
func QueryKV(kv store.KV, q Query) (*Page, error) {
	if q.Limit <= 0 || q.Limit > MaxLimit {
		q.Limit = MaxLimit
	}
	page := &Page{Entries: []Entry{}, Next: q.After}
	err := kv.View(func(tx store.Tx) error {
		first, ok := firstSeq(tx)
		if !ok {
			return nil
		}
		start := max(q.After+1, first)
		if !q.Since.IsZero() {
			s, err := firstSince(tx, q.Since)
			if err != nil {
				return err
			}
			start = max(start, s)
		}
		// Sequence numbers are dense (see firstSince), so the walk reads
		// by key from start instead of scanning the older entries.
		for seq := start; ; seq++ {
			v := tx.Get(Bucket, key(seq))
			if v == nil {
				return nil
			}
			if len(page.Entries) >= q.Limit || seq-start >= maxScan {
				page.More = true
				return nil
			}
			page.Next = seq
			var e Entry
			if err := json.Unmarshal(v, &e); err != nil {
				// A damaged entry is skipped, not fatal: the rest of the
				// trail is still worth reading.
				continue
			}
			if q.match(&e) {
				page.Entries = append(page.Entries, e)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// firstSince finds the lowest sequence whose entry is at or after t,
// assuming entries are (nearly) in time order: sequence numbers are
// dense from the oldest kept entry to the newest, because entries are
// only appended and only the oldest are swept.
func firstSince(tx store.Tx, t time.Time) (uint64, error) {
	lo, ok := firstSeq(tx)
	if !ok {
		return 0, nil
	}
	hi, err := lastSeq(tx)
	if err != nil || hi < lo {
		return lo, err
	}
	// Find the first seq in [lo, hi+1) whose time is >= t.
	end := hi + 1
	for lo < end {
		mid := lo + (end-lo)/2
		e, ok := entryAt(tx, mid)
		if !ok || !e.Time.Before(t) {
			end = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}

func firstSeq(tx store.Tx) (uint64, bool) {
	var first uint64
	found := false
	_ = tx.ForEach(Bucket, nil, func(k, _ []byte) error {
		if len(k) == 8 {
			first, found = binary.BigEndian.Uint64(k), true
			return store.ErrStop
		}
		return nil
	})
	return first, found
}

// lastSeq finds the highest sequence present by galloping over the dense
// range from the first one (store.Tx has no reverse cursor).
func lastSeq(tx store.Tx) (uint64, error) {
	lo, ok := firstSeq(tx)
	if !ok {
		return 0, nil
	}
	// Invariant: lo is present. Find a step that is absent.
	step := uint64(1)
	for tx.Get(Bucket, key(lo+step)) != nil {
		lo += step
		step *= 2
	}
	// lo present, lo+step absent: binary search between.
	hi := lo + step
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if tx.Get(Bucket, key(mid)) != nil {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

func entryAt(tx store.Tx, seq uint64) (*Entry, bool) {
	v := tx.Get(Bucket, key(seq))
	if v == nil {
		return nil, false
	}
	var e Entry
	if json.Unmarshal(v, &e) != nil {
		return nil, false
	}
	return &e, true
}

// Wait blocks until an entry with a sequence above after exists or ctx
// ends, and reports whether one does. Followers call it between Queries.
func (l *Log) Wait(ctx context.Context, after uint64) bool {
	for {
		l.mu.Lock()
		ch := l.wait
		l.mu.Unlock()
		if l.last.Load() > after {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return l.last.Load() > after
		}
	}
}

// Sweep deletes the entries older than cutoff, oldest first, and returns
// how many went. It stops at the first entry that is not older, so an
// entry written with a clock that ran backwards is kept a little longer
// rather than a newer one deleted early.
func (l *Log) Sweep(cutoff time.Time) (int, error) {
	const chunk = 1000
	total := 0
	for {
		var keys [][]byte
		err := l.kv.View(func(tx store.Tx) error {
			return tx.ForEach(Bucket, nil, func(k, v []byte) error {
				var e struct {
					Time time.Time `json:"time"`
				}
				if json.Unmarshal(v, &e) == nil && !e.Time.Before(cutoff) {
					return store.ErrStop
				}
				keys = append(keys, append([]byte(nil), k...))
				if len(keys) >= chunk {
					return store.ErrStop
				}
				return nil
			})
		})
		if err != nil || len(keys) == 0 {
			return total, err
		}
		err = l.kv.Update(func(tx store.Tx) error {
			for _, k := range keys {
				if err := tx.Delete(Bucket, k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += len(keys)
		if len(keys) < chunk {
			return total, nil
		}
	}
}

// RunRetention sweeps entries older than retention every interval until
// ctx ends; retention <= 0 keeps everything.
func (l *Log) RunRetention(ctx context.Context, retention, interval time.Duration) {
	if retention <= 0 {
		return
	}
	sweep := func() {
		if n, err := l.Sweep(l.now().Add(-retention)); err != nil {
			l.log.Error("sweeping the audit log", "err", err)
		} else if n > 0 {
			l.log.Info("audit entries past retention removed", "count", n, "retention", retention.String())
		}
	}
	sweep()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sweep()
		}
	}
}

func sortedKeys(m map[string]string) []string {
	if len(m) == 0 {
		return nil
	}
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j] < ks[j-1]; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
	return ks
}
