package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
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

// ended records a journey's end in the metrics and the audit log; outcome
// is "error" when authd itself failed to finish it, and Expired when the
// session expired unfinished.
func (e *Engine) ended(ctx context.Context, s *Session, req *Request, outcome Outcome, reason string) {
	metrics.JourneyEnded(s.Journey, string(outcome), s.Node)
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
	e.audit.Log(ctx, je)
	if outcome != Success {
		return
	}
	for _, what := range audit.Enrolments(steps) {
		en := base
		en.Kind, en.Result = audit.KindEnrollment, audit.ResultSuccess
		en.Reason = what + " enrolled in journey " + s.Journey
		e.audit.Log(ctx, en)
	}
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
