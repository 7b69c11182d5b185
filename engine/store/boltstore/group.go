package boltstore

import (
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// groupCommit coalesces concurrent Batch callers into shared transactions,
// one fsync each, like bbolt's DB.Batch — without its timer. DB.Batch holds
// every batch for MaxBatchDelay before committing, so a lone writer (the
// device's answer that resumes a waiting login) always pays that delay on
// top of its fsync. Here a commit starts as soon as the previous one ends:
// while it runs, the next callers queue, and the following commit takes
// them all, so batches grow with the load and a lone writer waits for
// nobody.
//
// The commit runs on a caller's own goroutine, not on one of the group's:
// a caller that finds no commit running leads, committing the queue
// (itself included); when its commit ends it hands the lead to the first
// caller that queued meanwhile and returns. A lone writer therefore
// commits with no hand-off between goroutines at all, and a queued one
// with a single wake-up (its verdict, or the lead). Each hand-off is a
// chance to wait for a processor, which on a busy machine during a
// garbage collector's mark phase costs milliseconds.
//
// The contract is DB.Batch's: a fn that fails (returns an error or panics)
// rolls the shared transaction back, is taken out of the group and run
// again alone in its caller's goroutine — so its error, or its panic, goes
// to its own caller — and the others are committed without it; fn may
// therefore run more than once.
type groupCommit struct {
	store *Store

	mu      sync.Mutex
	queue   []groupCall
	running bool // a caller is leading: committing, or about to hand the lead on
}

type groupCall struct {
	fn func(*bolt.Tx) error
	// done receives the call's verdict, or errLead: the caller is to
	// lead the next commit.
	done chan error
}

// maxGroup bounds one transaction, so a burst does not build a huge one
// (bbolt's DefaultMaxBatchSize).
const maxGroup = 1000

// errTrySolo tells a caller that its fn failed inside a shared transaction
// and must be run again on its own; callers never see it.
var errTrySolo = errors.New("boltstore: batch function failed; run it alone")

// errLead tells a queued caller that the commit before ended and it leads
// the next; callers never see it.
var errLead = errors.New("boltstore: lead the next group commit")

// fnPanicked is a panic of a caller's fn, recovered in the group so the
// others can commit; the caller re-runs fn alone and sees the panic itself.
type fnPanicked struct{ v any }

func (p fnPanicked) Error() string { return fmt.Sprintf("panic: %v", p.v) }

// do runs fn in a transaction shared with other callers.
func (g *groupCommit) do(fn func(*bolt.Tx) error) error {
	c := groupCall{fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	lead := !g.running
	g.running = true
	g.mu.Unlock()
	var err error
	if !lead {
		// The verdict, sent by the leader of the commit that took
		// this call, or the lead of the next commit.
		err = <-c.done
		lead = err == errLead
	}
	if lead {
		g.lead()
		err = <-c.done // sent by this caller's own commit
	}
	if err != errTrySolo {
		return err
	}
	return g.store.do(g.store.db.Update, fn)
}

// lead commits the queue as it stands (the leader's own call is in it:
// nobody else takes the queue while running is set), then hands the lead
// to the first caller queued meanwhile, or ends the run. The hand-over is
// deferred so that even a panic out of the commit cannot leave the queue
// with no leader, nor a caller of the batch with no verdict.
func (g *groupCommit) lead() {
	g.mu.Lock()
	batch := g.queue
	if len(batch) > maxGroup {
		batch, g.queue = batch[:maxGroup:maxGroup], batch[maxGroup:]
	} else {
		g.queue = nil
	}
	g.mu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			// Not a fn's panic (callSafely takes those): the commit
			// itself failed in a way store.do did not catch. Nobody
			// in the batch may be left waiting for a verdict.
			for _, c := range batch {
				select {
				case c.done <- fmt.Errorf("boltstore: group commit failed: %v", p):
				default: // already answered
				}
			}
			defer panic(p)
		}
		g.mu.Lock()
		if len(g.queue) == 0 {
			g.running = false
		} else {
			g.queue[0].done <- errLead
		}
		g.mu.Unlock()
	}()
	g.commit(batch)
}

// commit applies batch in one transaction; a failing fn is sent back to
// run alone and the rest are tried again without it.
func (g *groupCommit) commit(batch []groupCall) {
	for len(batch) > 0 {
		failed := -1
		err := g.store.do(g.store.db.Update, func(btx *bolt.Tx) error {
			for i, c := range batch {
				if err := callSafely(c.fn, btx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			// Committed, or the commit itself failed (disk full, store
			// closed, a damaged file): every caller gets the same answer.
			for _, c := range batch {
				c.done <- err
			}
			return
		}
		batch[failed].done <- errTrySolo
		batch = append(batch[:failed:failed], batch[failed+1:]...)
	}
}

// callSafely runs fn, turning its panic into an error so one caller's bug
// does not take the group (and the process) down here.
func callSafely(fn func(*bolt.Tx) error, btx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fnPanicked{p}
		}
	}()
	return fn(btx)
}
