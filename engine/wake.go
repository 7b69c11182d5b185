package engine

import "sync"

// wakeups lets a front end that holds a request for a waiting session (a
// RADIUS hold, an HTTP long poll) be told at once when what the session
// waits for has happened, instead of polling on a timer.
type wakeups struct {
	mu sync.Mutex
	ch map[string]chan struct{}
}

// Wake signals every holder of the session that it should resume now, for
// example because the user answered a push. Waking a session nobody holds
// does nothing; the next resume will see the answer anyway.
func (e *Engine) Wake(sessionID string) {
	e.wake.mu.Lock()
	c := e.wake.ch[sessionID]
	delete(e.wake.ch, sessionID)
	e.wake.mu.Unlock()
	if c != nil {
		close(c)
	}
}

// WakeChan returns a channel closed by the next Wake of the session. Holders
// select on it together with the wait's deadline; every holder of one
// session shares the channel.
func (e *Engine) WakeChan(sessionID string) <-chan struct{} {
	e.wake.mu.Lock()
	defer e.wake.mu.Unlock()
	if e.wake.ch == nil {
		e.wake.ch = map[string]chan struct{}{}
	}
	c := e.wake.ch[sessionID]
	if c == nil {
		c = make(chan struct{})
		e.wake.ch[sessionID] = c
	}
	return c
}
