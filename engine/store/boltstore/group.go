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
// The contract is DB.Batch's: a fn that fails (returns an error or panics)
// rolls the shared transaction back, is taken out of the group and run
// again alone in its caller's goroutine — so its error, or its panic, goes
// to its own caller — and the others are committed without it; fn may
// therefore run more than once.
type groupCommit struct {
	store *Store

	mu      sync.Mutex
	queue   []groupCall
	running bool
}

type groupCall struct {
	fn   func(*bolt.Tx) error
	done chan error
}

// maxGroup bounds one transaction, so a burst does not build a huge one
// (bbolt's DefaultMaxBatchSize).
const maxGroup = 1000

// errTrySolo tells a caller that its fn failed inside a shared transaction
// and must be run again on its own; callers never see it.
var errTrySolo = errors.New("boltstore: batch function failed; run it alone")

// fnPanicked is a panic of a caller's fn, recovered in the group so the
// others can commit; the caller re-runs fn alone and sees the panic itself.
type fnPanicked struct{ v any }

func (p fnPanicked) Error() string { return fmt.Sprintf("panic: %v", p.v) }

// do runs fn in a transaction shared with other callers.
func (g *groupCommit) do(fn func(*bolt.Tx) error) error {
	c := groupCall{fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	if !g.running {
		g.running = true
		go g.loop()
	}
	g.mu.Unlock()
	if err := <-c.done; err != errTrySolo {
		return err
	}
	return g.store.do(g.store.db.Update, fn)
}

// loop commits queued calls until the queue is empty.
func (g *groupCommit) loop() {
	for {
		g.mu.Lock()
		batch := g.queue
		if len(batch) > maxGroup {
			batch, g.queue = batch[:maxGroup:maxGroup], batch[maxGroup:]
		} else {
			g.queue = nil
		}
		if len(batch) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		g.commit(batch)
	}
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
