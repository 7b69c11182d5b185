package push

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/devices"
	"github.com/authd/authd/engine/store"
)

// joinWait bounds how long an answer waits for the login it woke to
// commit it (engine.JoinSave) before writing it itself. A held login
// resumes within a millisecond; the bound only matters when the resumed
// request fails before it reads the push, and then the device's reply is
// late by at most this much.
const joinWait = 100 * time.Millisecond

// inflight is a device's answer between its check and its commit. Only one
// answer per push is in flight in a process at a time (authd holds its
// store's file lock, so no other process answers), which is what lets the
// waiting login read the answer before it is stored: the store
// transaction that finally writes it (DecideIn, in the login's own save or
// in Decide) decides exactly the same thing.
type inflight struct {
	id  string
	by  devices.Answerer
	now time.Time
	// decide is the pure verdict of the answer, run again by the store
	// transaction.
	decide func(*devices.Push) error
	// push is the push as the answer leaves it; nil while the answer is
	// being checked. Guarded by answers.mu.
	push *devices.Push
	// joined hears how the login's save that took the answer went.
	joined chan error
	// settled is closed once the answer is stored or failed.
	settled chan struct{}
}

// answers are the answers in flight, by message id.
type answers struct {
	mu sync.Mutex
	m  map[string]*inflight
}

// claim registers a new answer for push id, first waiting for one already
// in flight to settle.
func (as *answers) claim(id string, by devices.Answerer, now time.Time, decide func(*devices.Push) error) *inflight {
	a := &inflight{id: id, by: by, now: now, decide: decide, joined: make(chan error, 1), settled: make(chan struct{})}
	for {
		as.mu.Lock()
		if as.m == nil {
			as.m = map[string]*inflight{}
		}
		prev := as.m[id]
		if prev == nil {
			as.m[id] = a
			as.mu.Unlock()
			return a
		}
		as.mu.Unlock()
		<-prev.settled
	}
}

// release forgets a (its answer is stored or failed).
func (as *answers) release(a *inflight) {
	as.mu.Lock()
	if as.m[a.id] == a {
		delete(as.m, a.id)
	}
	as.mu.Unlock()
	close(a.settled)
}

// publish makes the verdict readable by the waiting login.
func (as *answers) publish(a *inflight, p *devices.Push) {
	as.mu.Lock()
	a.push = p
	as.mu.Unlock()
}

// lookup returns the answer in flight for id and its verdict (nil while
// it is being checked).
func (as *answers) lookup(id string) (*inflight, *devices.Push) {
	as.mu.Lock()
	defer as.mu.Unlock()
	a := as.m[id]
	if a == nil {
		return nil, nil
	}
	return a, a.push
}

// flipTx writes the answer inside a store transaction; finding the push
// already decided the same way (the answer wrote it itself meanwhile) is
// success, so it may run any number of times.
func (a *inflight) flipTx(want *devices.Push) func(store.Tx) error {
	return func(tx store.Tx) error {
		p, err := devices.DecideIn(tx, a.id, a.by, a.now, a.decide)
		if errors.Is(err, devices.ErrNotPending) && sameAnswer(p, want) {
			return nil
		}
		return err
	}
}

// joinedDone is the engine's report on the save that took the answer.
func (a *inflight) joinedDone(err error) {
	select {
	case a.joined <- err:
	default:
	}
}

func sameAnswer(p, want *devices.Push) bool {
	return p != nil && want != nil && p.State == want.State && p.Reason == want.Reason &&
		p.AnsweredBy == want.AnsweredBy && p.AnsweredAt.Equal(want.AnsweredAt)
}

// answer decides push id for by with decide (a pure function of the stored
// push) and stores the flip, returning the push as it ended and whether
// the waiting session was woken. The fast path, for an answer that flips a
// pending push: the verdict is published in memory, the login holding the
// session is woken at once and reads it (PushStatus), and its own save
// commits the flip in the same transaction (engine.JoinSave), so the flip
// and the resumed login share one commit. If no front end holds the
// session, or the resumed request does not commit it within joinWait, the
// flip is written here (Decide). Either way the flip is one store
// transaction that re-checks everything, and the device hears the verdict
// only after it is stored. Anything but a flip (unknown, decided, expired
// or rejected) goes through Decide as before.
func (s *Service) answer(id string, by devices.Answerer, now time.Time, decide func(*devices.Push) error) (p *devices.Push, woke bool, err error) {
	a := s.answers.claim(id, by, now, decide)
	defer s.answers.release(a)
	cur, err := s.store.Push(id, now)
	if err != nil && !errors.Is(err, devices.ErrNotFound) {
		return nil, false, err
	}
	// Only an answer its device may give takes the fast path: a verdict
	// published to the waiting login must be the one the store will write.
	if err != nil || !cur.DecidableBy(by) || cur.State != devices.StatePending || decide(cur) != nil || s.eng == nil {
		p, err := s.store.Decide(id, by, now, decide)
		return p, false, err
	}
	s.answers.publish(a, cur) // cur now holds the verdict
	held := s.eng.WakeHeld(cur.SessionID)
	if held {
		t := time.NewTimer(joinWait)
		select {
		case jerr := <-a.joined:
			if jerr == nil {
				t.Stop()
				return cur, true, nil
			}
		case <-t.C:
		}
		t.Stop()
	}
	p, err = s.store.Decide(id, by, now, decide)
	if errors.Is(err, devices.ErrNotPending) && sameAnswer(p, cur) {
		err = nil // the login's save stored it meanwhile
	}
	if held && err == nil {
		// The wake went to a holder that did not commit the answer (its
		// resume failed or was busy, or it let go just as the wake came;
		// holds that end without a wake unregister, engine.Unhold), so
		// the client's next hold could wait its whole length. Wake again
		// now that the flip is stored: nobody holds the channel any more,
		// so the engine remembers it for the next holder (at worst one
		// extra resume of a login that is already resuming).
		s.eng.Wake(cur.SessionID)
	}
	return p, true, err
}

// tentative is what PushStatus reads for a push with an answer in flight:
// the verdict, when the calling request commits it with its own save; else
// it waits for the answer to settle and reports false, so the caller reads
// the store.
func (s *Service) tentative(ctx context.Context, realm, user, id string) (*devices.Push, bool, error) {
	a, p := s.answers.lookup(id)
	if a == nil {
		return nil, false, nil
	}
	if p != nil && p.Realm == realm && p.User == user && engine.JoinSave(ctx, a.flipTx(p), a.joinedDone) {
		return p, true, nil
	}
	select {
	case <-a.settled:
		return nil, false, nil
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}
