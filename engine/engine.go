package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/metrics"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/users"
)

// Store buckets the engine owns.
const (
	bucketSessions = "sessions"
	bucketExpiry   = "session_expiry" // key: expires (8 bytes, big endian unix nanos) + id
)

// DefaultMaxSteps bounds the nodes one request may run without suspending,
// so a misconfigured loop ends as a failure instead of spinning.
const DefaultMaxSteps = 256

// maxInnerDepth bounds nested inner journeys at run time (dsl rejects
// recursion; this is the belt to its braces).
const maxInnerDepth = 16

// MaxAnswerBytes bounds one callback value.
const MaxAnswerBytes = 4096

// Options configure an Engine.
type Options struct {
	KV       store.KV
	Users    *users.Repo // default: users.NewRepo(KV)
	Clock    Clock       // default: SystemClock
	Log      *slog.Logger
	MaxSteps int // default DefaultMaxSteps
	// Audit receives one entry for every journey that ends, whichever
	// front end drove it, plus one per enrolment the journey made; it is
	// also handed to nodes and front ends as Services.Audit. Default:
	// audit.Discard. When it is an audit.TxLogger (the store's audit.Log,
	// or the portal dispatcher's observer of it), a journey's entries are
	// written in the transaction that stores its end, so a finished
	// journey costs one commit and is never stored without its entry.
	Audit audit.Logger
}

// Engine runs journeys. It is safe for concurrent use; one Engine serves
// every front end of a process.
type Engine struct {
	kv       store.KV
	svc      *Services
	clock    Clock
	log      *slog.Logger
	maxSteps int

	prog atomic.Pointer[Program]
	mu   sync.RWMutex
	// byRevision keeps the program each journey revision was loaded with, so
	// sessions finish on the graph they started on after a reload.
	byRevision map[string]*Program
	// retired records when each replaced program stopped taking new
	// sessions, so Sweep can drop it once no session can still use it.
	retired map[*Program]time.Time

	audit   audit.Logger
	pending pendingCache

	locks [256]sync.Mutex
	seed  maphash.Seed
	wake  wakeups
}

// New returns an engine with no program loaded; call Load before serving.
func New(o Options) *Engine {
	if o.KV == nil {
		panic("engine: Options.KV is required")
	}
	if o.Users == nil {
		o.Users = users.NewRepo(o.KV)
	}
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.MaxSteps <= 0 {
		o.MaxSteps = DefaultMaxSteps
	}
	if o.Audit == nil {
		o.Audit = audit.Discard
	}
	e := &Engine{
		kv: o.KV, clock: o.Clock, log: o.Log, maxSteps: o.MaxSteps,
		byRevision: map[string]*Program{},
		retired:    map[*Program]time.Time{},
		seed:       maphash.MakeSeed(),
		audit:      o.Audit,
	}
	e.svc = &Services{KV: o.KV, Users: o.Users, Clock: o.Clock, Log: o.Log, Audit: o.Audit}
	e.svc.Journeys = func(name string) *Journey {
		if p := e.prog.Load(); p != nil {
			return p.Journeys[name]
		}
		return nil
	}
	return e
}

// Services returns the services handed to nodes, so a front end can add its
// own (push providers, SMS gateways) before serving.
func (e *Engine) Services() *Services { return e.svc }

// Load makes p the program new sessions start on. Sessions already running
// keep the revision they pinned.
func (e *Engine) Load(p *Program) {
	e.mu.Lock()
	for _, j := range p.Journeys {
		e.byRevision[j.Revision] = p
	}
	if old := e.prog.Swap(p); old != nil && old != p {
		e.retired[old] = e.clock.Now()
	}
	delete(e.retired, p)
	e.mu.Unlock()
}

// pruneRevisions forgets programs that were replaced long enough ago that
// every session started on them has expired, so months of reloads do not
// keep every old configuration in memory.
func (e *Engine) pruneRevisions(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cur := e.prog.Load()
	drop := map[*Program]bool{}
	for p, at := range e.retired {
		if now.After(at.Add(maxSessionTimeout(p))) {
			drop[p] = true
			delete(e.retired, p)
		}
	}
	if len(drop) == 0 {
		return
	}
	for rev, p := range e.byRevision {
		if p != cur && drop[p] {
			delete(e.byRevision, rev)
		}
	}
}

// maxSessionTimeout is the longest a session of p can live.
func maxSessionTimeout(p *Program) time.Duration {
	d := DefaultSessionTimeout
	for _, j := range p.Journeys {
		d = max(d, j.SessionTimeout)
	}
	return d
}

// Revisions returns how many programs the engine keeps for running
// sessions (the current one included), for tests and diagnostics.
func (e *Engine) Revisions() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	seen := map[*Program]bool{}
	for _, p := range e.byRevision {
		seen[p] = true
	}
	return len(seen)
}

// Program returns the program new sessions start on (nil before Load).
func (e *Engine) Program() *Program { return e.prog.Load() }

func (e *Engine) journeyAt(name, revision string) (*Journey, *Program) {
	e.mu.RLock()
	p := e.byRevision[revision]
	e.mu.RUnlock()
	if p == nil {
		return nil, nil
	}
	// The pinned program holds the journey; inner journeys resolve in the
	// same program, so a whole session sees one consistent configuration.
	if j := p.Journeys[name]; j != nil {
		return j, p
	}
	return nil, nil
}

// Start begins a journey of realm for the request.
func (e *Engine) Start(ctx context.Context, realm, journey string, req Request) (*Response, error) {
	p := e.prog.Load()
	if p == nil {
		return nil, errors.New("engine: no configuration loaded")
	}
	r := p.Realms[realm]
	if r == nil {
		return nil, &NotFoundError{Kind: "realm", Name: realm}
	}
	j := p.Journeys[journey]
	if j == nil || j.Realm != realm {
		return nil, &NotFoundError{Kind: "journey", Name: journey}
	}
	if req.RequestID == "" {
		req.RequestID = RequestIDFrom(ctx)
	}
	now := e.clock.Now()
	timeout := j.SessionTimeout
	if timeout <= 0 {
		timeout = DefaultSessionTimeout
	}
	metrics.JourneyStarted(j.Name)
	s := &Session{
		ID: NewID(), Realm: realm, Journey: j.Name, Revision: j.Revision,
		Node: j.Start, Created: now, Expires: now.Add(timeout),
		Origin: req.withoutSecrets(),
	}
	return e.advance(ctx, s, j, p, nil, &req, now)
}

// Resume continues a suspended session with the client's answers to its
// callbacks. Bad answers return an *AnswerError and change nothing.
func (e *Engine) Resume(ctx context.Context, id string, answers []Callback, req Request) (*Response, error) {
	if id == "" || len(id) > 128 {
		return nil, &SessionError{ID: id, Err: ErrSessionNotFound}
	}
	if req.RequestID == "" {
		req.RequestID = RequestIDFrom(ctx)
	}
	mu := e.lockFor(id)
	mu.Lock()
	defer mu.Unlock()

	s, err := e.Session(id)
	if err != nil {
		return nil, err
	}
	now := e.clock.Now()
	if s.Finished {
		return nil, &SessionError{ID: id, Err: ErrSessionFinished}
	}
	if !now.Before(s.Expires) {
		return nil, &SessionError{ID: id, Err: ErrSessionExpired}
	}
	j, p := e.journeyAt(s.Journey, s.Revision)
	if j == nil {
		return nil, &SessionError{ID: id, Err: fmt.Errorf("its journey revision %s is no longer loaded", shortID(s.Revision))}
	}
	filled, err := matchAnswers(s.Pending, answers)
	if err != nil {
		return nil, err
	}
	// Services may commit a write with this request's save (JoinSave);
	// whatever is left when it returns was not saved.
	ctx, cj := withCommitJoin(ctx)
	defer cj.settle(0, errNotSaved)
	return e.advance(ctx, s, j, p, filled, &req, now)
}

// Session loads a session by id (finished sessions included, until swept).
func (e *Engine) Session(id string) (*Session, error) {
	var s *Session
	err := e.kv.View(func(tx store.Tx) error {
		b := tx.Get(bucketSessions, []byte(id))
		if b == nil {
			return nil
		}
		s = new(Session)
		return json.Unmarshal(b, s)
	})
	if err != nil {
		return nil, &SessionError{ID: id, Err: fmt.Errorf("reading the store: %w", err)}
	}
	if s == nil {
		return nil, &SessionError{ID: id, Err: ErrSessionNotFound}
	}
	return s, nil
}

// matchAnswers pairs the client's callbacks with the pending ones (by id, or
// by position when the client sent no ids) and checks every value.
func matchAnswers(pending, answers []Callback) ([]Callback, error) {
	filled := make([]Callback, len(pending))
	copy(filled, pending)
	for i := range filled {
		filled[i].Value = nil
	}
	for i, a := range answers {
		idx := -1
		if a.ID != "" {
			for k := range pending {
				if pending[k].ID == a.ID {
					idx = k
					break
				}
			}
			if idx < 0 {
				return nil, &AnswerError{Callback: a.ID, Message: "no such callback is pending"}
			}
		} else {
			if i >= len(pending) {
				return nil, &AnswerError{Callback: fmt.Sprintf("#%d", i), Message: "more callbacks than were asked"}
			}
			idx = i
		}
		p := pending[idx]
		if a.Type != "" && a.Type != p.Type {
			return nil, &AnswerError{Callback: p.ID, Message: fmt.Sprintf("is of type %q, not %q", p.Type, a.Type)}
		}
		if a.Value == nil {
			continue
		}
		v := *a.Value
		if len(v) > MaxAnswerBytes {
			return nil, &AnswerError{Callback: p.ID, Message: "value is too long"}
		}
		switch p.Type {
		case CallbackChoice:
			// "" picks the node's default; an option may be given in any
			// letter case or by its 1-based position. The node decides.
			if v != "" && choiceIndex(p.Options, v) < 0 {
				return nil, &AnswerError{Callback: p.ID, Message: fmt.Sprintf("value must be one of %q (or its position)", p.Options)}
			}
		case CallbackWait:
			if v != "" && v != "exit" {
				return nil, &AnswerError{Callback: p.ID, Message: `value must be "" (keep waiting) or "exit"`}
			}
		}
		filled[idx].Value = &v
	}
	for _, f := range filled {
		if f.NeedsAnswer() && f.Value == nil {
			return nil, &AnswerError{Callback: f.ID, Message: "a value is required"}
		}
	}
	return filled, nil
}

// choiceIndex finds an answer among options: exactly, in another letter
// case, or as a 1-based position. It returns -1 when none matches.
func choiceIndex(options []string, v string) int {
	for i, o := range options {
		if o == v {
			return i
		}
	}
	for i, o := range options {
		if strings.EqualFold(o, v) {
			return i
		}
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= len(options) {
		return n - 1
	}
	return -1
}

// advance runs nodes from s.Node until one suspends or a terminal is reached.
func (e *Engine) advance(ctx context.Context, s *Session, j *Journey, p *Program, answers []Callback, req *Request, now time.Time) (*Response, error) {
	realm := p.Realms[s.Realm]
	var transient map[string]string
	var user *users.User // loaded once per request, shared by the nodes it runs
	steps := 0
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if steps >= e.maxSteps {
			e.log.ErrorContext(ctx, "journey exceeded the step limit", "journey", j.Name, "node", s.Node, "steps", steps, "request_id", req.RequestID)
			return e.finish(ctx, s, req, Failure, fmt.Sprintf("step limit of %d exceeded at node %s", e.maxSteps, s.Node))
		}
		steps++
		s.Steps++
		cn := j.Nodes[s.Node]
		if cn == nil {
			return e.finish(ctx, s, req, Failure, fmt.Sprintf("journey %s has no node %q", j.Name, s.Node))
		}
		nc := &Context{
			Session: s, Journey: j, Realm: realm, Node: cn, Request: req,
			Services: e.svc, answers: answers, now: now, transient: transient, user: user,
		}
		if answers == nil {
			s.Path = append(s.Path, cn.Name)
		}
		answers = nil
		started := time.Now() // wall time, for latency: not the engine's clock
		res, err := e.process(ctx, cn, nc)
		metrics.NodeDone(j.Name, cn.Name, cn.Type, time.Since(started), err != nil)
		transient = nc.transient
		if nc.user != nil && nc.user.Name == s.User {
			user = nc.user
		} else {
			user = nil
		}
		if err != nil {
			nc.Log().Error("node failed", "type", cn.Type, "err", err)
			return e.finish(ctx, s, req, Failure, "internal error at node "+cn.Name)
		}
		if res.Outcome != "" && len(res.Callbacks) == 0 && res.Enter == "" {
			s.addStep(Step{Node: cn.Name, Type: cn.Type, Outcome: res.Outcome})
		}
		switch {
		case len(res.Callbacks) > 0:
			return e.suspend(ctx, s, j, res.Callbacks, now)
		case res.Enter != "":
			inner := p.Journeys[res.Enter]
			if inner == nil || len(s.Stack) >= maxInnerDepth {
				return e.finish(ctx, s, req, Failure, fmt.Sprintf("cannot enter journey %q from node %s", res.Enter, cn.Name))
			}
			s.Stack = append(s.Stack, Frame{Journey: j.Name, Revision: j.Revision, Node: cn.Name})
			j = inner
			s.Journey, s.Revision, s.Node = inner.Name, inner.Revision, inner.Start
			continue
		}
		// Follow the outcome, returning from inner journeys that ended.
		o := res.Outcome
		for {
			target, ok := cn.Edges[o]
			if !ok {
				return e.finish(ctx, s, req, Failure, fmt.Sprintf("node %s ended with outcome %q, which is not wired", cn.Name, o))
			}
			if !IsTerminal(target) {
				s.Node = target
				break
			}
			if len(s.Stack) == 0 {
				return e.finish(ctx, s, req, Outcome(target), res.Reason)
			}
			f := s.Stack[len(s.Stack)-1]
			s.Stack = s.Stack[:len(s.Stack)-1]
			j = p.Journeys[f.Journey]
			if j == nil {
				return e.finish(ctx, s, req, Failure, fmt.Sprintf("journey %q vanished", f.Journey))
			}
			s.Journey, s.Revision, s.Node = j.Name, j.Revision, f.Node
			cn = j.Nodes[f.Node]
			o = Outcome(target)
		}
	}
}

// process runs one node, turning a panic into a fault so one bad node never
// takes the server down.
func (e *Engine) process(ctx context.Context, cn *CompiledNode, nc *Context) (res Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in node type %s: %v", cn.Type, r)
		}
	}()
	res, err = cn.Node.Process(ctx, nc)
	if err == nil && res.Outcome == "" && len(res.Callbacks) == 0 && res.Enter == "" {
		err = fmt.Errorf("node type %s returned neither an outcome nor callbacks", cn.Type)
	}
	return res, err
}

func (e *Engine) suspend(ctx context.Context, s *Session, j *Journey, cbs []Callback, now time.Time) (*Response, error) {
	pending := make([]Callback, len(cbs))
	copy(pending, cbs)
	seen := map[string]bool{}
	var until time.Time
	for i := range pending {
		c := &pending[i]
		c.Value = nil
		if c.ID == "" {
			c.ID = c.Type
		}
		if seen[c.ID] {
			c.ID += strconv.Itoa(i)
		}
		seen[c.ID] = true
		if c.Type == CallbackWait && c.Seconds > 0 {
			until = now.Add(time.Duration(c.Seconds) * time.Second)
		}
	}
	s.Pending = pending
	s.Until = until
	if err := e.save(s, joinFrom(ctx), nil); err != nil {
		return nil, err
	}
	return &Response{
		Session: s.ID, Journey: j.Name, Node: s.Node, Callbacks: pending, Until: until,
		User: s.User, Path: append([]string(nil), s.Path...), State: s,
	}, nil
}

func (e *Engine) finish(ctx context.Context, s *Session, req *Request, o Outcome, reason string) (*Response, error) {
	resp := &Response{
		Journey: s.Journey, Node: s.Node, Done: true, Outcome: o, User: s.User,
		Reason: reason, Path: append([]string(nil), s.Path...), State: s,
	}
	var ea *endAudit
	if s.Version > 0 {
		// A tombstone, kept until the session would have expired, so a
		// replayed id is told "already finished", not "unknown".
		t := &Session{
			ID: s.ID, Realm: s.Realm, Journey: s.Journey, Revision: s.Revision,
			User: s.User, Created: s.Created, Expires: s.Expires, Finished: true,
			Outcome: o, Version: s.Version,
		}
		// The end's audit entries commit with the tombstone (endAudit).
		ea = e.newEndAudit(s, req, o, reason)
		if err := e.save(t, joinFrom(ctx), ea.txFunc()); err != nil {
			e.ended(ctx, s, req, "error", "the journey's end could not be stored ("+reason+")")
			return nil, err
		}
	}
	s.Finished, s.Outcome, s.Reason, s.Pending = true, o, reason, nil
	if ea != nil {
		ea.committed(ctx, s, o)
	} else {
		// No tombstone (the journey finished in the request that started
		// it, so no session was ever stored), or a logger that cannot
		// join a transaction: the entries are logged on their own.
		e.ended(ctx, s, req, o, reason)
	}
	e.release(s.ID) // release anyone still holding the finished session
	return resp, nil
}

// errStale reports a lost race with another writer of the same session.
var errStale = errors.New("the session was changed by another request")

// save writes the session if nobody else wrote it since it was read,
// together with the writes services joined to it (JoinSave), which hear
// how the commit went, and also (when not nil: the journey end's audit
// entries), all in one transaction.
func (e *Engine) save(s *Session, cj *commitJoin, also func(store.Tx) error) (err error) {
	joined := cj.take()
	defer func() { cj.settle(len(joined), err) }()
	prev := s.Version
	s.Version++
	data, err := json.Marshal(s)
	if err != nil {
		s.Version = prev
		return fmt.Errorf("engine: encoding session: %w", err)
	}
	id := []byte(s.ID)
	err = e.kv.Batch(func(tx store.Tx) error {
		cur := tx.Get(bucketSessions, id)
		if prev == 0 {
			if cur != nil {
				return errStale
			}
			if err := tx.Put(bucketExpiry, expiryKey(s.Expires, s.ID), nil); err != nil {
				return err
			}
		} else {
			var v struct {
				Version uint64 `json:"version"`
			}
			if cur == nil || json.Unmarshal(cur, &v) != nil || v.Version != prev {
				return errStale
			}
		}
		for _, fn := range joined {
			if err := fn(tx); err != nil {
				return err
			}
		}
		if also != nil {
			if err := also(tx); err != nil {
				return err
			}
		}
		return tx.Put(bucketSessions, id, data)
	})
	if err != nil {
		s.Version = prev
		if errors.Is(err, errStale) {
			return &SessionError{ID: s.ID, Err: ErrSessionBusy}
		}
		return &SessionError{ID: s.ID, Err: fmt.Errorf("writing the store: %w", err)}
	}
	return nil
}

func expiryKey(t time.Time, id string) []byte {
	k := make([]byte, 8, 8+len(id))
	binary.BigEndian.PutUint64(k, uint64(t.UnixNano()))
	return append(k, id...)
}

// Sweep deletes sessions (and tombstones) that expired before now and
// returns how many went.
func (e *Engine) Sweep(now time.Time) (int, error) {
	e.pruneRevisions(now)
	var keys [][]byte
	err := e.kv.View(func(tx store.Tx) error {
		return tx.ForEach(bucketExpiry, nil, func(k, _ []byte) error {
			if len(k) < 8 || int64(binary.BigEndian.Uint64(k[:8])) >= now.UnixNano() {
				return store.ErrStop
			}
			keys = append(keys, append([]byte(nil), k...))
			return nil
		})
	})
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	const chunk = 1000
	for i := 0; i < len(keys); i += chunk {
		part := keys[i:min(i+chunk, len(keys))]
		var abandoned []*Session
		if err := e.kv.Update(func(tx store.Tx) error {
			abandoned = abandoned[:0]
			for _, k := range part {
				if v := tx.Get(bucketSessions, k[8:]); v != nil && !bytes.Contains(v, finishedMark) {
					s := new(Session)
					if json.Unmarshal(v, s) == nil {
						abandoned = append(abandoned, s)
					}
				}
				if err := tx.Delete(bucketSessions, k[8:]); err != nil {
					return err
				}
				if err := tx.Delete(bucketExpiry, k); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return i, err
		}
		// A session nobody finished ended too: audit it, once, now that
		// it is gone.
		for _, s := range abandoned {
			e.ended(context.Background(), s, nil, Expired, "")
		}
	}
	return len(keys), nil
}

// RunSweeper sweeps expired sessions every interval until ctx ends.
func (e *Engine) RunSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := e.Sweep(e.clock.Now()); err != nil {
				e.log.Error("sweeping sessions", "err", err)
			} else if n > 0 {
				e.log.Debug("swept sessions", "count", n)
			}
		}
	}
}

func (e *Engine) lockFor(id string) *sync.Mutex {
	return &e.locks[maphash.String(e.seed, id)%uint64(len(e.locks))]
}

// NewContext builds a node Context outside a running engine, for unit tests
// of node types and for alternative runners. answers are the callbacks the
// node suspended with, filled in (nil: the node is entered afresh).
func NewContext(s *Session, j *Journey, r *Realm, n *CompiledNode, req *Request, svc *Services, now time.Time, answers []Callback) *Context {
	if req == nil {
		req = &Request{}
	}
	return &Context{Session: s, Journey: j, Realm: r, Node: n, Request: req, Services: svc, now: now, answers: answers}
}
