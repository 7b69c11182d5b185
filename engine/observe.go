package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/metrics"
	"github.com/authd/authd/engine/store"
)

// Step is one node of a session that ended with an outcome.
type Step struct {
	Node    string  `json:"node"`
	Type    string  `json:"type"`
	Outcome Outcome `json:"outcome"`
}

// MaxTrail bounds Session.Trail: a journey that loops (retries) keeps its
// newest steps, which are the ones that explain its end.
const MaxTrail = 64

func (s *Session) addStep(st Step) {
	if len(s.Trail) >= MaxTrail {
		s.Trail = append(s.Trail[:0], s.Trail[len(s.Trail)-MaxTrail+1:]...)
	}
	s.Trail = append(s.Trail, st)
}

// Expired is the outcome the metrics and the audit log give a session
// that nobody finished before it expired (the sweeper removed it); it is
// never an edge of a journey.
const Expired Outcome = "expired"

// finishedMark is how a finished session's JSON says so; a quote inside a
// JSON string is escaped, so this byte sequence only occurs as the field.
var finishedMark = []byte(`"finished":true`)

// ended records a journey's end in the metrics and the audit log, with
// entries written on their own (Log); outcome is "error" when authd itself
// failed to finish it, and Expired when the session expired unfinished.
// A journey whose end is saved as a tombstone writes its entries in the
// tombstone's transaction instead (endAudit) when the logger can.
func (e *Engine) ended(ctx context.Context, s *Session, req *Request, outcome Outcome, reason string) {
	metrics.JourneyEnded(s.Journey, string(outcome), s.Node)
	for _, en := range endEntries(s, req, outcome, reason) {
		e.audit.Log(ctx, en)
	}
}

// endEntries builds the audit entries of a journey's end: the journey
// entry, then one enrolment entry per factor a successful journey
// enrolled.
func endEntries(s *Session, req *Request, outcome Outcome, reason string) []audit.Entry {
	if req == nil {
		req = &s.Origin
	}
	steps := make([]audit.Step, len(s.Trail))
	for i, st := range s.Trail {
		steps[i] = audit.Step{Node: st.Node, Type: st.Type, Outcome: string(st.Outcome)}
	}
	result := audit.ResultFailure
	switch outcome {
	case Success:
		result = audit.ResultSuccess
	case "error":
		result = audit.ResultError
	}
	desc := reason
	switch outcome {
	case "error":
	case Expired:
		desc = "session expired unanswered at node " + s.Node
		if len(steps) > 0 {
			// "... (chosen push)": what the user had picked on the way.
			if d := audit.Describe("failure", steps, ""); strings.Contains(d, "(") {
				desc += d[strings.Index(d, " ("):]
			}
		}
	default:
		desc = audit.Describe(string(outcome), steps, reason)
	}
	frontend := req.Protocol
	if frontend == "" {
		frontend = s.Origin.Protocol
	}
	detail := map[string]string{"node": s.Node, "revision": shortID(s.Revision)}
	if r := req.RADIUS; r != nil {
		put(detail, "nas_identifier", r.NASIdentifier)
		put(detail, "nas_ip", r.NASIP)
		put(detail, "calling_station_id", r.CallingStationID)
	}
	if o := req.OAuth; o != nil {
		put(detail, "client_id", o.ClientID)
	}
	base := audit.Entry{
		Realm: s.Realm, User: s.User, Journey: s.Journey, Frontend: frontend,
		Client: req.ClientIP, RequestID: req.RequestID, Session: shortID(s.ID),
	}
	je := base
	je.Kind, je.Result, je.Reason, je.Detail = audit.KindJourney, result, desc, detail
	je.Path = append([]string(nil), s.Path...)
	entries := []audit.Entry{je}
	if outcome != Success {
		return entries
	}
	for _, what := range audit.Enrolments(steps) {
		en := base
		en.Kind, en.Result = audit.KindEnrollment, audit.ResultSuccess
		en.Reason = what + " enrolled in journey " + s.Journey
		entries = append(entries, en)
	}
	return entries
}

// endAudit writes a journey end's audit entries in the transaction that
// saves the session's tombstone, so a finished journey costs one commit
// (one fsync before the reply), not two, and its end is never stored
// without its entry: if an entry cannot be written, the whole save fails
// and finish reports the error (and audits it with Log, as any failed
// save). It is nil when the engine's logger cannot append inside a
// transaction (audit.Discard, a test's collector); ended then logs after
// the save, as before.
type endAudit struct {
	log     audit.TxLogger
	entries []audit.Entry
	written []audit.Entry // as the last try of write wrote them
}

// newEndAudit prepares s's end for the tombstone's transaction, or
// returns nil when the logger cannot join one.
func (e *Engine) newEndAudit(s *Session, req *Request, outcome Outcome, reason string) *endAudit {
	tl, ok := e.audit.(audit.TxLogger)
	if !ok {
		return nil
	}
	return &endAudit{log: tl, entries: endEntries(s, req, outcome, reason)}
}

// txFunc returns write for save, or nil when there is nothing to write
// in the transaction (a is nil).
func (a *endAudit) txFunc() func(store.Tx) error {
	if a == nil {
		return nil
	}
	return a.write
}

// write appends the entries in tx. A store Batch may run it more than
// once, each time in a fresh transaction: every try starts over, and the
// sequence numbers kept are those of the try that committed.
func (a *endAudit) write(tx store.Tx) error {
	a.written = a.written[:0]
	for _, en := range a.entries {
		w, err := a.log.AppendTx(tx, en)
		if err != nil {
			return fmt.Errorf("engine: writing the journey's audit entry: %w", err)
		}
		a.written = append(a.written, w)
	}
	return nil
}

// committed records the end once the tombstone and the entries are
// stored: the metrics, then the logger's announcement (followers, the
// mirror line, the portal dispatcher's observer).
func (a *endAudit) committed(ctx context.Context, s *Session, outcome Outcome) {
	metrics.JourneyEnded(s.Journey, string(outcome), s.Node)
	a.log.Committed(ctx, a.written...)
}

func put(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// Audit returns the audit logger (audit.Discard when none was given), for
// front ends that record their own events: dropped packets, rejected push
// answers.
func (e *Engine) Audit() audit.Logger { return e.audit }

type requestIDKey struct{}

// ContextWithRequestID returns ctx carrying a request id, so the engine,
// nodes and front ends tag their log lines and audit entries with it.
func ContextWithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the request id ctx carries, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// NewRequestID returns a fresh request id: 16 hex digits, unique enough
// to find one request's lines in a day of logs.
func NewRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// pendingCache keeps PendingSessions' answer briefly: a scrape every few
// seconds must not walk a large sessions bucket every time.
type pendingCache struct {
	mu  sync.Mutex
	at  time.Time
	n   int
	err error
}

var pendingTTL = 5 * time.Second

// PendingSessions counts the sessions in the store that have not
// finished (suspended ones, and expired ones until the sweeper removes
// them). The answer is cached for a few seconds.
func (e *Engine) PendingSessions() (int, error) {
	c := &e.pending
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < pendingTTL {
		return c.n, c.err
	}
	n := 0
	err := e.kv.View(func(tx store.Tx) error {
		return tx.ForEach(bucketSessions, nil, func(_, v []byte) error {
			if !bytes.Contains(v, finishedMark) {
				n++
			}
			return nil
		})
	})
	c.at, c.n, c.err = time.Now(), n, err
	return n, err
}
