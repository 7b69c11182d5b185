package radius

import (
	"errors"
	"maps"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/authd/authd/engine"
)

// heldRequest is an Access-Request held while its journey waits (for a
// push answer) with no goroutine: a NAS may hold thousands of them, and a
// goroutine blocked on the wait kept the stack the journey had grown,
// about 16 KB each (160 MB for 10,000 held requests). The engine's wake
// or the wait's deadline continues it (engine.Park); Shutdown
// continues every one of them with a reject.
type heldRequest struct {
	s  *Server
	rq *request
	// resp is the suspension being held: its session and callbacks.
	resp *engine.Response

	// ready is closed once whoever parked the request is done with it
	// (handOff); the continuation waits for it, so the two never touch
	// the request at once.
	ready chan struct{}

	// mu is held by park until parked is set, so Shutdown (release),
	// which finds the request in s.held, never acts on a half-made hold.
	mu     sync.Mutex
	parked *engine.Parked
}

// park holds rq until the session's next wake or until the hold's
// deadline, whichever comes first, and sets rq.held: the continuation
// answers the request once the caller hands it over. An error (hold
// limits, shutdown) leaves rq unparked, for drive to reject.
func (s *Server) park(rq *request, resp *engine.Response) error {
	until, err := s.beginHold(rq, resp)
	if err != nil {
		return err
	}
	// Only what the continuation reads is kept: the response's State is
	// the whole decoded session, a few KB per held request.
	kept := &engine.Response{Session: resp.Session, Callbacks: slices.Clone(resp.Callbacks)}
	h := &heldRequest{s: s, rq: rq, resp: kept, ready: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return errShuttingDown
	}
	if s.held == nil {
		s.held = map[*heldRequest]struct{}{}
	}
	s.held[h] = struct{}{}
	// Shutdown waits for the continuation as for any request in
	// progress; the parking request's own count is still held here, so
	// this Add never races Shutdown's Wait from zero.
	s.handlers.Add(1)
	s.mu.Unlock()
	rq.held = h
	h.parked = s.eng.Park(resp.Session, time.Until(until), func(bool) { h.fire(false) })
	// The wake registered before the journey ran (resume, or the previous
	// continuation) covers the moments before AfterWake: a wake that came
	// then closed it and was not kept for a later holder, so it is
	// honoured here. Its registration is let go either way.
	if rq.wake != nil {
		select {
		case <-rq.wake:
			parked := h.parked
			go func() {
				if parked.Cancel() {
					h.fire(false)
				}
			}()
		default:
		}
		s.eng.Unhold(rq.wakeID, rq.wake)
		rq.wake = nil
	}
	return nil
}

// handOff says the parking goroutine is done with the request.
func (h *heldRequest) handOff() { close(h.ready) }

// release ends the hold for Shutdown: unless the wake or the deadline
// came first, the request is continued with a reject.
func (h *heldRequest) release() {
	h.mu.Lock()
	parked := h.parked
	h.mu.Unlock()
	if parked.Cancel() {
		h.fire(true)
	}
}

// fire continues the request, once: at the end of its hold (the wake or
// the deadline, engine.Park) or at Shutdown (release).
func (h *heldRequest) fire(shutdown bool) {
	s := h.s
	s.mu.Lock()
	delete(s.held, h)
	s.mu.Unlock()
	<-h.ready
	s.continueHold(h.rq, h.resp, shutdown)
}

// continueHold resumes the journey's wait with "" (keep going) and drives
// the request on from what the journey did next: an answer, a challenge,
// or another hold.
func (s *Server) continueHold(rq *request, resp *engine.Response, shutdown bool) {
	defer s.handlers.Done()
	defer func() {
		// Outside handle's recover: a bug must cost this request, not
		// the process.
		if r := recover(); r != nil {
			s.log.Error("radius: panic while continuing a held request", "panic", r, "stack", string(debug.Stack()))
			s.failed(rq.w, rq.from, rq.key, rq, rq.began)
		}
	}()
	rq.held = nil
	var (
		next *engine.Response
		err  error
	)
	if shutdown {
		err = errShuttingDown
	} else {
		// Take the next wake before resuming, so a wake that lands while
		// the journey runs is not lost.
		rq.wake, rq.wakeID = s.eng.WakeChan(resp.Session), resp.Session
		answers := fill(resp.Callbacks, -1, "", rq.user, "")
		for attempt := 1; ; attempt++ {
			next, err = s.eng.Resume(s.ctx, resp.Session, answers, rq.req)
			if errors.Is(err, engine.ErrSessionBusy) && attempt < 5 {
				time.Sleep(time.Duration(attempt) * 20 * time.Millisecond)
				continue
			}
			break
		}
	}
	reply := s.drive(rq, next, err, nil)
	if h := rq.held; h != nil {
		h.handOff() // held again
		return
	}
	s.answer(rq.w, rq.from, rq.key, reply, rq.began)
}

// releaseHeld continues every held request with a reject, for Shutdown.
func (s *Server) releaseHeld() {
	s.mu.Lock()
	held := slices.Collect(maps.Keys(s.held))
	s.mu.Unlock()
	for _, h := range held {
		go h.release()
	}
}
