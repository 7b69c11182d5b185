// Package portal delivers journey results to the applications that started
// them (api_client blocks): when a journey an api_client started ends, its
// result is POSTed as JSON to the callback URL the start named, with basic
// auth when the client has callback_auth, retried with exponential backoff.
//
// Nothing is lost to a restart: the expectation ("tell this URL when
// session S ends") and every pending delivery live in the store, and Run
// resumes them. Journey ends are observed through the engine's audit log
// (Observe wraps the audit.Logger the engine writes its journey entries
// to, and sees an end once its entry is stored), so the engine itself
// knows nothing of portals. Every attempt is
// audited (audit kind "callback").
//
// authd run (cmd/authd/portal.go) builds one Dispatcher over the store,
// gives the engine Observe(audit log), runs it with the server's context
// and hands it every start of api.NewPortal that names a callback URL;
// callback_auth is read from the configuration being served at each
// attempt, so a reload's new password applies to pending retries.
package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/store"
)

// KindCallback is the audit kind of a callback delivery attempt (result
// success when the application accepted it, failure otherwise; the reason
// says whether another attempt follows).
const KindCallback = audit.KindCallback

// Store buckets.
const (
	bucketExpect     = "portal_expect"     // session id -> Expectation
	bucketDeliveries = "portal_deliveries" // session id -> delivery
)

// Defaults of a Dispatcher.
const (
	DefaultMaxAttempts = 8
	DefaultFirstDelay  = 2 * time.Second
	DefaultMaxDelay    = 10 * time.Minute
	// maxResponseBody is read from a callback answer (and thrown away) so
	// the connection can be reused.
	maxResponseBody = 4 << 10
)

// Expectation says where the result of a session goes.
type Expectation struct {
	Session     string `json:"session"`
	Realm       string `json:"realm"`
	Journey     string `json:"journey"`
	User        string `json:"user"`
	Client      string `json:"client"` // the api_client name
	CallbackURL string `json:"callback_url"`
}

// Result is the JSON body POSTed to the callback URL.
type Result struct {
	// Outcome is "success" or "failure" (an expired or errored journey is
	// a failure; Reason says which).
	Outcome string    `json:"outcome"`
	User    string    `json:"user"`
	Realm   string    `json:"realm"`
	Journey string    `json:"journey"`
	Session string    `json:"session"`
	Reason  string    `json:"reason"`
	Time    time.Time `json:"time"`
}

type delivery struct {
	Expectation
	Result   Result    `json:"result"`
	Attempts int       `json:"attempts"`
	Next     time.Time `json:"next"`
}

// Auth is the basic auth a client's callbacks carry.
type Auth struct{ Username, Password string }

// Options configure a Dispatcher.
type Options struct {
	KV    store.KV
	Audit audit.Logger // where attempts are recorded (default audit.Discard)
	Log   *slog.Logger
	// HTTP sends the callbacks (default: a client with a 10 s timeout that
	// does not follow redirects).
	HTTP *http.Client
	// Auth returns the basic auth of an api_client's callbacks (read at
	// each attempt, so a reload's new password applies); nil or !ok: none.
	Auth func(client string) (Auth, bool)
	// Now is the clock (default time.Now). Tests inject one.
	Now func() time.Time
	// Backoff is the delay after the n-th failed attempt (n from 1);
	// default doubles from DefaultFirstDelay up to DefaultMaxDelay.
	Backoff func(n int) time.Duration
	// MaxAttempts bounds the attempts per result (default DefaultMaxAttempts).
	MaxAttempts int
}

// Dispatcher records expectations and delivers results.
type Dispatcher struct {
	o    Options
	wake chan struct{}
	mu   sync.Mutex // one delivery pass at a time
	// eng reads finished sessions (closing the race between a journey
	// ending and Expect storing its expectation) and drives waiting ones.
	eng *engine.Engine

	driveMu sync.Mutex
	ctx     context.Context // Run's; nil before Run
	driving map[string]bool
	stopped bool           // Run has returned or is returning
	drives  sync.WaitGroup // Run waits for its drives before returning
}

// New returns a Dispatcher; call Run to deliver in the background.
func New(o Options) *Dispatcher {
	if o.Audit == nil {
		o.Audit = audit.Discard
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Backoff == nil {
		o.Backoff = ExponentialBackoff(DefaultFirstDelay, DefaultMaxDelay)
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	return &Dispatcher{o: o, wake: make(chan struct{}, 1)}
}

// ExponentialBackoff doubles from first after each failure, capped at max.
func ExponentialBackoff(first, max time.Duration) func(int) time.Duration {
	return func(n int) time.Duration {
		d := first
		for i := 1; i < n && d < max; i++ {
			d *= 2
		}
		if d > max {
			d = max
		}
		return d
	}
}

// SetEngine gives the dispatcher the engine, once it exists (the engine
// is built with Observe's logger, so it comes second).
func (d *Dispatcher) SetEngine(e *engine.Engine) { d.eng = e }

// Observe wraps the engine's audit logger: every entry passes through to
// next, and a journey's end is matched against the expectations. When
// next can append inside the engine's transaction (audit.TxLogger, as
// the store's audit.Log does), so can the wrapper, and it sees a journey
// end in Committed, once the entry and the session's tombstone are
// stored together; otherwise it sees it in Log, after the engine's save.
// Either way a delivery is only enqueued for an end that was stored.
func (d *Dispatcher) Observe(next audit.Logger) audit.Logger {
	if next == nil {
		next = audit.Discard
	}
	o := observer{d: d, next: next}
	if tl, ok := next.(audit.TxLogger); ok {
		return txObserver{observer: o, tx: tl}
	}
	return o
}

// observer is Observe's wrapper of a Logger that writes on its own.
type observer struct {
	d    *Dispatcher
	next audit.Logger
}

// Log passes e on, then looks at it.
func (o observer) Log(ctx context.Context, e audit.Entry) {
	o.next.Log(ctx, e)
	o.d.seen(e)
}

// txObserver is Observe's wrapper of an audit.TxLogger: it forwards the
// in-transaction appends and looks at the entries once they committed.
type txObserver struct {
	observer
	tx audit.TxLogger
}

var _ audit.TxLogger = txObserver{}

// AppendTx passes e on to be written in tx; nothing is observed before
// the commit.
func (o txObserver) AppendTx(tx store.Tx, e audit.Entry) (audit.Entry, error) {
	return o.tx.AppendTx(tx, e)
}

// Committed passes the committed entries on, then looks at them.
func (o txObserver) Committed(ctx context.Context, es ...audit.Entry) {
	o.tx.Committed(ctx, es...)
	for _, e := range es {
		o.d.seen(e)
	}
}

// seen delivers the result of a journey whose end e records.
func (d *Dispatcher) seen(e audit.Entry) {
	if e.Kind == audit.KindJourney && e.Session != "" {
		d.journeyEnded(e)
	}
}

// journeyEnded turns the expectation of the session that ended (the audit
// entry carries a short id: the realm and journey must agree too) into a
// delivery.
func (d *Dispatcher) journeyEnded(e audit.Entry) {
	var found *Expectation
	err := d.o.KV.View(func(tx store.Tx) error {
		return tx.ForEach(bucketExpect, []byte(e.Session), func(_, v []byte) error {
			var x Expectation
			if json.Unmarshal(v, &x) == nil && x.Realm == e.Realm && x.Journey == e.Journey {
				found = &x
				return store.ErrStop
			}
			return nil
		})
	})
	if err != nil {
		d.o.Log.Error("portal: reading expectations", "err", err)
		return
	}
	if found == nil {
		return
	}
	outcome := "failure"
	if e.Result == audit.ResultSuccess {
		outcome = "success"
	}
	user := e.User
	if user == "" {
		user = found.User
	}
	d.enqueue(found.Session, Result{Outcome: outcome, User: user, Realm: e.Realm, Journey: e.Journey, Session: found.Session, Reason: e.Reason, Time: d.o.Now().UTC()})
}

// Expect records that the result of session x.Session goes to
// x.CallbackURL. A session that already ended (a fast phone) is
// delivered at once.
func (d *Dispatcher) Expect(x Expectation) error {
	b, err := json.Marshal(x)
	if err != nil {
		return err
	}
	if err := d.o.KV.Update(func(tx store.Tx) error { return tx.Put(bucketExpect, []byte(x.Session), b) }); err != nil {
		return fmt.Errorf("portal: storing the callback: %w", err)
	}
	d.drive(x.Session)
	if d.eng != nil {
		if s, err := d.eng.Session(x.Session); err == nil && s.Finished {
			outcome := "failure"
			if s.Outcome == engine.Success {
				outcome = "success"
			}
			reason := s.Reason
			if reason == "" {
				reason = string(s.Outcome)
			}
			d.enqueue(x.Session, Result{Outcome: outcome, User: s.User, Realm: s.Realm, Journey: s.Journey, Session: s.ID, Reason: reason, Time: d.o.Now().UTC()})
		}
	}
	return nil
}

// Finished delivers the result of a journey that ended within its start
// request (the start answered it, so no expectation was stored).
func (d *Dispatcher) Finished(x Expectation, r Result) error {
	b, err := json.Marshal(delivery{Expectation: x, Result: r, Next: d.o.Now()})
	if err != nil {
		return err
	}
	if err := d.o.KV.Update(func(tx store.Tx) error { return tx.Put(bucketDeliveries, []byte(x.Session), b) }); err != nil {
		return fmt.Errorf("portal: storing the callback: %w", err)
	}
	d.kick()
	return nil
}

// enqueue moves the expectation of session id, if still there, to a due
// delivery, in one transaction: whichever of the audit hook and Expect
// comes second finds nothing to do.
func (d *Dispatcher) enqueue(id string, r Result) {
	err := d.o.KV.Update(func(tx store.Tx) error {
		v := tx.Get(bucketExpect, []byte(id))
		if v == nil {
			return nil
		}
		var x Expectation
		if err := json.Unmarshal(v, &x); err != nil {
			return tx.Delete(bucketExpect, []byte(id))
		}
		b, err := json.Marshal(delivery{Expectation: x, Result: r, Next: d.o.Now()})
		if err != nil {
			return err
		}
		if err := tx.Delete(bucketExpect, []byte(id)); err != nil {
			return err
		}
		return tx.Put(bucketDeliveries, []byte(id), b)
	})
	if err != nil {
		d.o.Log.Error("portal: queueing a callback", "err", err)
		return
	}
	d.kick()
}

func (d *Dispatcher) kick() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Pending counts the deliveries not yet made (for tests and metrics).
func (d *Dispatcher) Pending() (int, error) {
	n := 0
	err := d.o.KV.View(func(tx store.Tx) error {
		return tx.ForEach(bucketDeliveries, nil, func(_, _ []byte) error { n++; return nil })
	})
	return n, err
}

// DeliverDue makes one attempt at every delivery that is due now and
// returns when the next one falls due (zero: none pending). Run calls it;
// tests call it with an injected clock.
func (d *Dispatcher) DeliverDue(ctx context.Context) (next time.Time, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.o.Now()
	var due []delivery
	err = d.o.KV.View(func(tx store.Tx) error {
		return tx.ForEach(bucketDeliveries, nil, func(_, v []byte) error {
			var dl delivery
			if json.Unmarshal(v, &dl) != nil {
				return nil
			}
			if !dl.Next.After(now) {
				due = append(due, dl)
			} else if next.IsZero() || dl.Next.Before(next) {
				next = dl.Next
			}
			return nil
		})
	})
	if err != nil {
		return time.Time{}, err
	}
	for _, dl := range due {
		if ctx.Err() != nil {
			return now, ctx.Err()
		}
		if n := d.attempt(ctx, dl); !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	return next, nil
}

// attempt POSTs one result, audits it, and stores the outcome: deleted on
// success or after the last attempt, rescheduled otherwise. It returns the
// next attempt's time (zero when none).
func (d *Dispatcher) attempt(ctx context.Context, dl delivery) time.Time {
	dl.Attempts++
	status, err := d.post(ctx, dl)
	entry := audit.Entry{
		Kind: KindCallback, Realm: dl.Realm, User: dl.Result.User, Journey: dl.Journey,
		Frontend: engine.FrontendAPI, Session: shortID(dl.Session),
		Detail: map[string]string{"client": dl.Client, "url": dl.CallbackURL, "attempt": fmt.Sprint(dl.Attempts), "outcome": dl.Result.Outcome},
	}
	if status != 0 {
		entry.Detail["status"] = fmt.Sprint(status)
	}
	var next time.Time
	key := []byte(dl.Session)
	var serr error
	switch {
	case err == nil:
		entry.Result, entry.Reason = audit.ResultSuccess, fmt.Sprintf("callback delivered to api_client %s on attempt %d", dl.Client, dl.Attempts)
		serr = d.o.KV.Update(func(tx store.Tx) error { return tx.Delete(bucketDeliveries, key) })
	case dl.Attempts >= d.o.MaxAttempts:
		entry.Result, entry.Reason = audit.ResultFailure, fmt.Sprintf("callback to api_client %s failed on attempt %d of %d, giving up: %v", dl.Client, dl.Attempts, d.o.MaxAttempts, err)
		serr = d.o.KV.Update(func(tx store.Tx) error { return tx.Delete(bucketDeliveries, key) })
	default:
		dl.Next = d.o.Now().Add(d.o.Backoff(dl.Attempts))
		next = dl.Next
		entry.Result, entry.Reason = audit.ResultFailure, fmt.Sprintf("callback to api_client %s failed on attempt %d of %d, retrying at %s: %v", dl.Client, dl.Attempts, d.o.MaxAttempts, dl.Next.UTC().Format(time.RFC3339), err)
		b, _ := json.Marshal(dl)
		serr = d.o.KV.Update(func(tx store.Tx) error { return tx.Put(bucketDeliveries, key, b) })
	}
	d.o.Audit.Log(ctx, entry)
	if serr != nil {
		d.o.Log.Error("portal: storing a callback's state", "err", serr)
	}
	return next
}

// post sends the result; any status but 2xx is an error.
func (d *Dispatcher) post(ctx context.Context, dl delivery) (int, error) {
	body, err := json.Marshal(dl.Result)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dl.CallbackURL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "authd-callback")
	if d.o.Auth != nil {
		if a, ok := d.o.Auth(dl.Client); ok {
			req.SetBasicAuth(a.Username, a.Password)
		}
	}
	resp, err := d.o.HTTP.Do(req)
	if err != nil {
		// The URL is in the audit detail; keep the error short (no body).
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			return 0, ue.Unwrap()
		}
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// Run delivers until ctx ends: at start (resuming what a restart left),
// whenever a journey ends, and when a retry falls due.
func (d *Dispatcher) Run(ctx context.Context) {
	d.driveMu.Lock()
	d.ctx = ctx
	d.driveMu.Unlock()
	// Sessions that waited for a phone when the server stopped.
	var ids []string
	_ = d.o.KV.View(func(tx store.Tx) error {
		return tx.ForEach(bucketExpect, nil, func(k, _ []byte) error { ids = append(ids, string(k)); return nil })
	})
	for _, id := range ids {
		d.drive(id)
	}
	t := time.NewTimer(0)
	defer t.Stop()
	// Once Run returns no drive touches the engine or the store any more,
	// so the caller may close them.
	defer func() {
		d.driveMu.Lock()
		d.stopped = true
		d.driveMu.Unlock()
		d.drives.Wait()
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
		}
		next, err := d.DeliverDue(ctx)
		if err != nil && ctx.Err() == nil {
			d.o.Log.Error("portal: delivering callbacks", "err", err)
			next = d.o.Now().Add(time.Minute)
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		if next.IsZero() {
			continue // wait for a wake
		}
		wait := next.Sub(d.o.Now())
		if wait < 0 {
			wait = 0
		}
		t.Reset(wait)
	}
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return strings.Clone(id)
}

// drive moves a waiting session on without a client: nobody polls a
// journey an application started (it waits for the callback), so when the
// phone answers (engine.Wake) or the wait's time is up, the dispatcher
// resumes the session itself, as a polling client would, until it ends or
// asks for something only a person at a browser could give. It does
// nothing before Run or without an engine.
func (d *Dispatcher) drive(id string) {
	d.driveMu.Lock()
	defer d.driveMu.Unlock()
	// After Run's end (a start answered during shutdown) the expectation
	// stays in the store and the next Run resumes it.
	if d.ctx == nil || d.stopped || d.ctx.Err() != nil || d.eng == nil || d.driving[id] {
		return
	}
	if d.driving == nil {
		d.driving = map[string]bool{}
	}
	d.driving[id] = true
	d.drives.Add(1)
	go func(ctx context.Context) {
		defer d.drives.Done()
		defer func() {
			d.driveMu.Lock()
			delete(d.driving, id)
			d.driveMu.Unlock()
		}()
		d.driveSession(ctx, id)
	}(d.ctx)
}

// maxIdle bounds a drive's wait when the session gives no deadline.
const maxIdle = time.Minute

func (d *Dispatcher) driveSession(ctx context.Context, id string) {
	for {
		s, err := d.eng.Session(id)
		if err != nil || s.Finished {
			return
		}
		for _, cb := range s.Pending {
			if cb.Type != engine.CallbackWait && cb.Type != engine.CallbackText {
				// The journey asks for input an application cannot give;
				// it ends when the session expires (a failure callback).
				d.o.Log.Warn("portal: the journey asks for input; it will expire", "session", shortID(id), "journey", s.Journey, "node", s.Node, "callback", cb.Type)
				return
			}
		}
		wait := maxIdle
		if !s.Until.IsZero() {
			wait = time.Until(s.Until)
		}
		if !s.Expires.IsZero() && time.Until(s.Expires) < wait {
			wait = time.Until(s.Expires)
		}
		if wait < 0 {
			wait = 0
		}
		t := time.NewTimer(wait)
		woken := d.eng.WakeChan(id)
		select {
		case <-ctx.Done():
			t.Stop()
			d.eng.Unhold(id, woken)
			return
		case <-woken:
		case <-t.C:
			d.eng.Unhold(id, woken)
		}
		t.Stop()
		resp, err := d.eng.Resume(ctx, id, nil, engine.Request{Protocol: engine.FrontendAPI, RequestID: engine.NewRequestID()})
		switch {
		case errors.Is(err, engine.ErrSessionBusy):
			// Someone else advances it (a client polling after all).
		case err != nil:
			if !errors.Is(err, engine.ErrSessionFinished) && !errors.Is(err, engine.ErrSessionNotFound) && !errors.Is(err, engine.ErrSessionExpired) && ctx.Err() == nil {
				d.o.Log.Error("portal: resuming a waiting session", "session", shortID(id), "err", err)
			}
			if !errors.Is(err, engine.ErrSessionBusy) {
				return
			}
		case resp.Done:
			return
		}
	}
}
