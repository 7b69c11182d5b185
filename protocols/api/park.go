package api

import (
	"bufio"
	"bytes"
	"context"
	"maps"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/metrics"
)

// Parking: a long poll over HTTP/1.x is not held by a blocked goroutine.
// net/http keeps two goroutines and about 35 KB (stacks, 10 KB of bufio
// buffers, the parsed request) per open request, so 10,000 logins waiting
// on a push with a long poll each cost authd 450 MB. Instead the handler
// takes the connection over (http.Hijacker), lets net/http's goroutines
// and buffers go, and parks the hold: the engine calls back at the
// session's wake or at the hold's end (engine.Park); only then does a
// goroutine resume the session and write the answer, with
// "Connection: close". A parked hold costs the socket and a few hundred
// bytes.
//
// What a held request did and a parked one must do too:
//   - A client that went away is not answered in its place: before
//     resuming, the socket is checked for the client's close (peerClosed).
//     When it closed, nothing resumes and the wake is passed on to the
//     client's next poll.
//   - The hold ends at the wait's deadline and at the client's ?wait=,
//     whichever comes first, and spans the node's re-suspensions.
//   - Shutdown answers every parked request with where its journey stands
//     before the store closes (Handler.Shutdown).
//
// HTTP/2 (which has no Hijacker, and multiplexes one connection) and
// response writers that cannot be taken over keep the blocking hold
// (longpoll.go).

// resultParked marks a request whose answer is written later by its
// parked hold, which then records the request's metrics itself.
const resultParked = "parked"

// parkWriteTimeout bounds writing a parked request's answer.
const parkWriteTimeout = 10 * time.Second

// parking is the set of parked holds, for Shutdown.
type parking struct {
	mu     sync.Mutex
	holds  map[*parkedHold]struct{}
	closed bool
	active sync.WaitGroup // holds parked or resuming
}

// parkedHold is one long poll taken over from net/http.
type parkedHold struct {
	h        *Handler
	conn     net.Conn
	ctx      context.Context // the request id alone, not net/http's per-connection state
	path     string
	header   http.Header // the answer's headers so far (X-Request-Id)
	req      engine.Request
	session  string
	answers  []engine.Callback
	deadline time.Time
	began    time.Time
	http10   bool // answer as HTTP/1.0

	mu     sync.Mutex
	parked *engine.Parked // this arming's hold (nil while resuming)
	woken  bool           // it ended with the session's wake
	until  time.Time      // the journey's own wait ends (zero: none)
	final  bool           // answer on the next resume, whatever it says
	closed atomic.Bool
}

// park takes over a long poll that would be held, when the connection
// allows it; false leaves the request to the blocking hold.
func (h *Handler) park(w http.ResponseWriter, r *http.Request, s *engine.Session, answers []engine.Callback, req engine.Request, wait time.Duration, began time.Time) bool {
	if wait <= 0 || r.ProtoMajor != 1 || !keepsWaiting(s.Pending, answers) {
		return false
	}
	h.parking.mu.Lock()
	if h.parking.closed {
		h.parking.mu.Unlock()
		return false
	}
	h.parking.active.Add(1)
	h.parking.mu.Unlock()
	header := w.Header().Clone()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		h.parking.active.Done()
		return false
	}
	// A body already read and no pipelining in a long poll: whatever the
	// server buffered past this request is dropped with the connection,
	// which the answer closes.
	p := &parkedHold{
		h: h, conn: conn, header: header, req: req, session: s.ID, answers: answers,
		ctx:  engine.ContextWithRequestID(context.Background(), engine.RequestIDFrom(r.Context())),
		path: r.URL.Path, http10: r.ProtoMinor == 0, deadline: time.Now().Add(wait), began: began,
	}
	h.parking.mu.Lock()
	if h.parking.holds == nil {
		h.parking.holds = map[*parkedHold]struct{}{}
	}
	h.parking.holds[p] = struct{}{}
	p.final = h.parking.closed
	h.parking.mu.Unlock()
	p.arm(s.Until)
	return true
}

// arm waits for the session's wake or the hold's end, whichever comes
// first, without a goroutine.
func (p *parkedHold) arm(until time.Time) {
	hold := time.Until(p.deadline)
	if !until.IsZero() {
		hold = min(hold, time.Until(until))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.parked, p.woken, p.until = nil, false, until
	if hold <= 0 || p.final {
		go p.resume()
		return
	}
	p.parked = p.h.eng.Park(p.session, hold, p.fire)
}

// fire is the hold's end: the session's wake or the timer, in a goroutine
// of its own, or release.
func (p *parkedHold) fire(woken bool) {
	p.mu.Lock()
	p.woken = woken
	p.mu.Unlock()
	p.resume()
}

// release ends a parked hold early, for Shutdown: it resumes now and
// answers whatever the journey says. A hold that is resuming already, or
// not armed yet, sees final when it would park again (arm).
func (p *parkedHold) release() {
	p.mu.Lock()
	p.final = true
	parked := p.parked
	p.mu.Unlock()
	if parked.Cancel() {
		p.fire(false)
	}
}

// resume continues the session as the blocking hold does and, unless the
// journey still waits with time left, answers the client.
func (p *parkedHold) resume() {
	// This runs on a goroutine of its own, outside net/http and Recover:
	// a bug must cost this request (a 500), not the process.
	defer func() {
		if r := recover(); r != nil {
			p.h.log.ErrorContext(p.ctx, "journey API: parked long poll failed", "panic", r, "path", p.path,
				"request_id", engine.RequestIDFrom(p.ctx), "stack", string(debug.Stack()))
			w := &connResponse{header: p.header, status: http.StatusOK}
			writeServerError(w)
			p.done(func() string {
				_ = p.conn.SetWriteDeadline(time.Now().Add(parkWriteTimeout))
				_ = w.writeTo(p.conn, p.http10)
				return "error"
			})
		}
	}()
	if peerClosed(p.conn) {
		// Nobody would read the answer; a later poll resumes instead. A
		// wake this hold took is passed on: to the client's next poll if
		// it holds already, else the engine keeps it for that poll.
		p.mu.Lock()
		woken := p.woken
		p.mu.Unlock()
		if woken {
			p.h.eng.Wake(p.session)
		}
		p.done(nil)
		return
	}
	p.mu.Lock()
	final, woken, until := p.final, p.woken, p.until
	p.mu.Unlock()
	var (
		resp *engine.Response
		err  error
	)
	deadline := p.deadline
	if final {
		deadline = time.Now() // shutdown: answer where it stands
	}
	if r, ok := p.h.stillWaiting(p.session, deadline, until); ok && !woken {
		resp = r
	} else {
		resp, err = p.h.eng.Resume(p.ctx, p.session, p.answers, p.req)
	}
	if err == nil && !resp.Done && !final && time.Until(p.deadline) > 0 && keepsWaiting(resp.Callbacks, nil) {
		// Still waiting (the node's seconds passed): park again.
		p.answers = keepWaiting(resp.Callbacks)
		p.arm(resp.Until)
		return
	}
	w := &connResponse{header: p.header, status: http.StatusOK}
	result := p.h.reply(w, p.ctx, p.path, p.req, resp, err)
	p.done(func() string {
		_ = p.conn.SetWriteDeadline(time.Now().Add(parkWriteTimeout))
		if werr := w.writeTo(p.conn, p.http10); werr != nil {
			return "cancelled"
		}
		return result
	})
}

// done unparks the hold, answers the client (answer, if any, writes the
// response and says the result label), closes the connection and records
// the request.
func (p *parkedHold) done(answer func() string) {
	if p.closed.Swap(true) {
		return
	}
	ps := &p.h.parking
	ps.mu.Lock()
	delete(ps.holds, p)
	ps.mu.Unlock()
	result := "cancelled"
	if answer != nil {
		result = answer()
	}
	_ = p.conn.Close()
	metrics.RequestDone(engine.FrontendAPI, result, time.Since(p.began))
	ps.active.Done()
}

// Shutdown answers every parked long poll now, with where its journey
// stands (typically still waiting: the client polls again, at the next
// instance), and waits for those answers until ctx ends. Requests that
// arrive after it are held the blocking way, for http.Server.Shutdown to
// wait on. Call it after the listener stopped accepting and before the
// engine's store closes.
func (h *Handler) Shutdown(ctx context.Context) error {
	ps := &h.parking
	ps.mu.Lock()
	ps.closed = true
	holds := slices.Collect(maps.Keys(ps.holds))
	ps.mu.Unlock()
	for _, p := range holds {
		go p.release()
	}
	finished := make(chan struct{})
	go func() { ps.active.Wait(); close(finished) }()
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
		ps.mu.Lock()
		for p := range ps.holds {
			_ = p.conn.Close() // cut what could not be answered in time
		}
		ps.mu.Unlock()
		return ctx.Err()
	}
}

// Parked reports how many long polls are parked or resuming, for the
// shutdown log and tests.
func (h *Handler) Parked() int {
	h.parking.mu.Lock()
	defer h.parking.mu.Unlock()
	return len(h.parking.holds)
}

// connResponse is the http.ResponseWriter of a parked request's answer:
// it collects the answer, then writes it as an HTTP/1.1 response on the
// taken-over connection, which it closes.
type connResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *connResponse) Header() http.Header         { return c.header }
func (c *connResponse) WriteHeader(status int)      { c.status = status }
func (c *connResponse) Write(b []byte) (int, error) { return c.body.Write(b) }

func (c *connResponse) writeTo(conn net.Conn, http10 bool) error {
	c.header.Set("Content-Length", strconv.Itoa(c.body.Len()))
	c.header.Set("Connection", "close")
	if c.header.Get("Date") == "" {
		c.header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	bw := bufio.NewWriterSize(conn, 512+c.body.Len())
	proto := "HTTP/1.1"
	if http10 {
		proto = "HTTP/1.0"
	}
	bw.WriteString(proto + " " + strconv.Itoa(c.status) + " " + http.StatusText(c.status) + "\r\n")
	if err := c.header.Write(bw); err != nil {
		return err
	}
	bw.WriteString("\r\n")
	bw.Write(c.body.Bytes())
	return bw.Flush()
}
