package engine

import (
	"sync"
	"time"
)

// Parked is a request held for a waiting session with no goroutine of its
// own: its continuation runs once, on a goroutine of its own, at the first
// of the session's next wake and the hold's end, or never if the front end
// takes it back first (Cancel). The journey API parks its long polls on
// it and the RADIUS front end its held Access-Requests, so the two share
// one answer to the race between a wake, a timer and a shutdown.
type Parked struct {
	mu    sync.Mutex
	done  bool        // the continuation ran, or was taken back
	stop  func() bool // lets go of the wake (AfterWake's)
	timer *time.Timer
}

// Park holds the session for up to d: then(true) runs at its next wake
// (at once when it was woken moments before, as AfterWake), then(false)
// when d has passed first. The registration counts as holding the session
// (WakeHeld) until then runs or Cancel takes it back.
func (e *Engine) Park(sessionID string, d time.Duration, then func(woken bool)) *Parked {
	p := &Parked{}
	// p.mu is held until the wake and the timer are both set, so neither
	// (nor a Cancel) can act on a half-made hold.
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stop = e.AfterWake(sessionID, func() {
		if p.claim() {
			then(true)
		}
	})
	p.timer = time.AfterFunc(d, func() {
		if p.claim() {
			then(false)
		}
	})
	return p
}

// Cancel takes the hold back: it reports whether the continuation had not
// run and now never will (the caller then continues the request itself,
// for example with a shutdown answer). A nil Parked has nothing to take.
func (p *Parked) Cancel() bool {
	return p != nil && p.claim()
}

// claim marks the hold done for the first of the wake, the timer and
// Cancel, stops the others and reports whether the caller was first.
func (p *Parked) claim() bool {
	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		return false
	}
	p.done = true
	p.timer.Stop()
	stop := p.stop
	p.mu.Unlock()
	stop() // the timer or Cancel came first: let go of the wake (after a wake it does nothing)
	return true
}
