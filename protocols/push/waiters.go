package push

import (
	"sync"
	"time"
)

// waiters lets a polling device's long-poll GET /api/v1/push/pending
// return as soon as a push for its user is created, the way engine.Wake
// does for sessions.
type waiters struct {
	mu sync.Mutex
	ch map[string]chan struct{}
}

func waiterKey(realm, user string) string { return realm + "\x00" + user }

// wait returns a channel closed by the next wake of realm/user.
func (w *waiters) wait(realm, user string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch == nil {
		w.ch = map[string]chan struct{}{}
	}
	k := waiterKey(realm, user)
	c := w.ch[k]
	if c == nil {
		c = make(chan struct{})
		w.ch[k] = c
	}
	return c
}

// wake releases every waiter of realm/user.
func (w *waiters) wake(realm, user string) {
	w.mu.Lock()
	k := waiterKey(realm, user)
	c := w.ch[k]
	delete(w.ch, k)
	w.mu.Unlock()
	if c != nil {
		close(c)
	}
}

// nonceCache remembers the nonces of signed fetches until they expire, so
// a captured GET /api/v1/push/pending cannot be replayed. (Answers need no
// cache: a push flips once.)
type nonceCache struct {
	mu   sync.Mutex
	seen map[string]time.Time
	next time.Time // next prune
}

// maxNonces bounds the cache; past it, fetches are refused until entries
// expire, which only a flood of validly signed requests can cause.
const maxNonces = 200_000

// use records nonce until exp and reports whether it was fresh.
func (c *nonceCache) use(nonce string, exp, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]time.Time{}
	}
	if now.After(c.next) || len(c.seen) >= maxNonces {
		for k, t := range c.seen {
			if !t.After(now) {
				delete(c.seen, k)
			}
		}
		c.next = now.Add(time.Minute)
	}
	if _, dup := c.seen[nonce]; dup || len(c.seen) >= maxNonces {
		return false
	}
	c.seen[nonce] = exp
	return true
}
