package storage

import (
	"sync"
	"time"

	"github.com/authd/authd/engine/store"
)

// groupCommit applies the writes of concurrent requests in shared store
// transactions: while one commit (and its fsync) runs, the next requests
// queue, and the following commit takes all of them. bbolt's own DB.Batch
// does the same but waits a fixed MaxBatchDelay (10 ms) before every commit,
// which caps a token endpoint at about (clients / 15 ms) grants per second;
// here a commit starts as soon as the previous one ends, so the batch grows
// with the load and a lone request waits for no timer.
//
// Each unit (the writes of one fosite transaction) stays atomic: if one
// fails — a code already used — the shared transaction is rolled back, that
// unit is answered from a run of its own, and the others are committed
// without it.
type groupCommit struct {
	kv  store.KV
	now func() time.Time

	mu      sync.Mutex
	queue   []*unit
	running bool
}

type unit struct {
	ops  []op
	done chan error
}

// do applies ops atomically, in a transaction shared with other callers.
func (g *groupCommit) do(ops []op) error {
	u := &unit{ops: ops, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, u)
	if !g.running {
		g.running = true
		go g.loop()
	}
	g.mu.Unlock()
	return <-u.done
}

func (g *groupCommit) loop() {
	for {
		g.mu.Lock()
		batch := g.queue
		g.queue = nil
		if len(batch) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		g.commit(batch)
	}
}

// maxGroup bounds one transaction, so a burst does not build a huge one.
const maxGroup = 2048

func (g *groupCommit) commit(batch []*unit) {
	for len(batch) > maxGroup {
		g.commit(batch[:maxGroup])
		batch = batch[maxGroup:]
	}
	for len(batch) > 0 {
		failed := -1
		err := g.kv.Update(func(tx store.Tx) error {
			failed = -1
			now := g.now().UnixNano()
			for i, u := range batch {
				for _, o := range u.ops {
					if err := o(tx, now); err != nil {
						failed = i
						return err
					}
				}
			}
			return nil
		})
		if err == nil {
			for _, u := range batch {
				u.done <- nil
			}
			return
		}
		if failed < 0 {
			// The commit itself failed (disk full, store closed).
			for _, u := range batch {
				u.done <- err
			}
			return
		}
		bad := batch[failed]
		if len(batch) == 1 {
			bad.done <- err
			return
		}
		bad.done <- g.kv.Update(func(tx store.Tx) error {
			now := g.now().UnixNano()
			for _, o := range bad.ops {
				if err := o(tx, now); err != nil {
					return err
				}
			}
			return nil
		})
		batch = append(batch[:failed:failed], batch[failed+1:]...)
	}
}
