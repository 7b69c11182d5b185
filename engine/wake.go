package engine

import (
	"slices"
	"sync"
	"time"
)

// wakeMarkTTL is how long a wake for a session nobody holds yet is kept, so
// a holder that registers a moment after the answer arrived is released at
// once instead of at the wait's deadline.
const wakeMarkTTL = time.Minute

// wakeups lets a front end that holds a request for a waiting session (a
// RADIUS hold, an HTTP long poll) be told at once when what the session
// waits for has happened, instead of polling on a timer.
type wakeups struct {
	mu    sync.Mutex
	ch    map[string]*holders
	marks map[string]time.Time // sessions woken while nobody held them
}

// holders is the channel the holders of one session share (nil while only
// AfterWake holds it) and how many
// of them have not let go (Unhold), so a hold that ends without a wake
// does not leave the session looking held; fns are the holders that asked
// to be called instead (AfterWake).
type holders struct {
	c   chan struct{}
	n   int
	fns []*afterWake
}

// afterWake is one AfterWake registration.
type afterWake struct{ f func() }

// closedChan is returned to holders of a session already woken.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Wake signals every holder of the session that it should resume now, for
// example because the user answered a push. When nobody holds the session
// yet, the wake is remembered for a minute and released to the next holder.
func (e *Engine) Wake(sessionID string) { e.wakeUp(sessionID, true) }

// release wakes the holders of a session without remembering the wake, for
// sessions that just finished and will never be held again.
func (e *Engine) release(sessionID string) { e.wakeUp(sessionID, false) }

func (e *Engine) wakeUp(sessionID string, remember bool) {
	now := time.Now()
	e.wake.mu.Lock()
	h := e.wake.ch[sessionID]
	delete(e.wake.ch, sessionID)
	if h == nil && remember {
		if e.wake.marks == nil {
			e.wake.marks = map[string]time.Time{}
		}
		e.wake.marks[sessionID] = now
		if len(e.wake.marks) > 64 { // amortised clean-up of marks nobody claimed
			for id, t := range e.wake.marks {
				if now.Sub(t) > wakeMarkTTL {
					delete(e.wake.marks, id)
				}
			}
		}
	}
	e.wake.mu.Unlock()
	if h != nil {
		if h.c != nil {
			close(h.c)
		}
		for _, w := range h.fns {
			go w.f()
		}
	}
}

// AfterWake is WakeChan for a holder that parks instead of blocking: f runs
// in its own goroutine at the session's next wake (at once when the
// session was woken moments before, as WakeChan's channel would be closed
// already). Park builds on it the holds of the front ends, which park
// thousands of waiting requests with no goroutine each. The registration
// counts as holding the session until f runs or stop is called; stop reports whether it took f back before it
// ran (after it ran, or a second time, it does nothing and says false).
func (e *Engine) AfterWake(sessionID string, f func()) (stop func() bool) {
	e.wake.mu.Lock()
	if t, ok := e.wake.marks[sessionID]; ok {
		delete(e.wake.marks, sessionID)
		if time.Since(t) <= wakeMarkTTL {
			e.wake.mu.Unlock()
			go f()
			return func() bool { return false }
		}
	}
	h := e.holdersOf(sessionID)
	w := &afterWake{f: f}
	h.fns = append(h.fns, w)
	h.n++
	e.wake.mu.Unlock()
	return func() bool {
		e.wake.mu.Lock()
		defer e.wake.mu.Unlock()
		if e.wake.ch[sessionID] != h {
			return false // woken since: f ran or is about to
		}
		i := slices.Index(h.fns, w)
		if i < 0 {
			return false
		}
		h.fns = slices.Delete(h.fns, i, i+1)
		if h.n--; h.n <= 0 {
			delete(e.wake.ch, sessionID)
		}
		return true
	}
}

// holdersOf returns the session's holders, registering a new set when
// nobody holds it; e.wake.mu must be held.
func (e *Engine) holdersOf(sessionID string) *holders {
	if e.wake.ch == nil {
		e.wake.ch = map[string]*holders{}
	}
	h := e.wake.ch[sessionID]
	if h == nil {
		h = &holders{} // the channel is made for the first WakeChan
		e.wake.ch[sessionID] = h
	}
	return h
}

// WakeChan returns a channel closed by the next Wake of the session (or
// already closed when the session was woken moments before anyone held it).
// Holders select on it together with the wait's deadline; every holder of
// one session shares the channel.
func (e *Engine) WakeChan(sessionID string) <-chan struct{} {
	e.wake.mu.Lock()
	defer e.wake.mu.Unlock()
	if t, ok := e.wake.marks[sessionID]; ok {
		delete(e.wake.marks, sessionID)
		if time.Since(t) <= wakeMarkTTL {
			return closedChan
		}
	}
	h := e.holdersOf(sessionID)
	if h.c == nil {
		h.c = make(chan struct{})
	}
	h.n++
	return h.c
}

// Unhold tells the engine a holder stopped waiting on c (returned by
// WakeChan) without being woken, e.g. its long poll ran out. When it was
// the last holder the session no longer counts as held, so WakeHeld and
// the next wake see the truth and the channel is not kept for a session
// nobody waits on. Call it once per WakeChan that was not woken; after a
// wake it does nothing.
func (e *Engine) Unhold(sessionID string, c <-chan struct{}) {
	e.wake.mu.Lock()
	defer e.wake.mu.Unlock()
	h := e.wake.ch[sessionID]
	if h == nil || h.c == nil || (<-chan struct{})(h.c) != c {
		return // woken since, or a newer set of holders
	}
	if h.n--; h.n <= 0 {
		delete(e.wake.ch, sessionID)
	}
}

// WakeHeld is Wake that also reports whether a front end was holding the
// session at that moment (and so is resuming it now). The push service
// uses it to decide whether to wait for the resumed request to commit a
// device's answer with its own save, or to write the answer at once.
func (e *Engine) WakeHeld(sessionID string) bool {
	e.wake.mu.Lock()
	held := e.wake.ch[sessionID] != nil
	e.wake.mu.Unlock()
	e.wakeUp(sessionID, true)
	return held
}

// Holding reports whether a front end holds the session now (WakeChan or
// AfterWake, not yet woken nor let go), without waking it: tests and
// diagnostics use it to see that a request is held before they answer.
func (e *Engine) Holding(sessionID string) bool {
	e.wake.mu.Lock()
	defer e.wake.mu.Unlock()
	return e.wake.ch[sessionID] != nil
}
