package engine

import (
	"context"
	"errors"
	"sync"

	"github.com/authd/authd/engine/store"
)

// errNotSaved is what a joined write hears when the request that took it
// ended without saving its session (an error, a cancelled request).
var errNotSaved = errors.New("engine: the session was not saved in this request")

// commitJoin collects writes that services ask to commit in the same store
// transaction as the session's save at the end of one Resume.
type commitJoin struct {
	mu    sync.Mutex
	fns   []func(store.Tx) error
	dones []func(error)
}

type commitJoinKey struct{}

// JoinSave asks the engine to run fn inside the store transaction that
// saves the session at the end of the current request (its next suspend,
// or its tombstone when the journey ends), so a service's write and the
// journey's progress that depends on it are durable together, in one
// commit: the push service commits a device's answer this way with the
// login it resumes, so the resumed reply waits for one fsync, not two.
// done is called once with nil after that transaction committed, or with
// an error when fn was not committed (the save failed, or the request
// ended without a save); the caller must then write by itself. fn may run
// more than once (the save is a store Batch) and must be idempotent.
//
// It returns false when ctx is not a node's context of a resumed request;
// then nothing was taken and done is never called.
func JoinSave(ctx context.Context, fn func(store.Tx) error, done func(error)) bool {
	cj, _ := ctx.Value(commitJoinKey{}).(*commitJoin)
	if cj == nil || fn == nil || done == nil {
		return false
	}
	cj.mu.Lock()
	cj.fns = append(cj.fns, fn)
	cj.dones = append(cj.dones, done)
	cj.mu.Unlock()
	return true
}

// withCommitJoin returns ctx carrying a fresh collector.
func withCommitJoin(ctx context.Context) (context.Context, *commitJoin) {
	cj := &commitJoin{}
	return context.WithValue(ctx, commitJoinKey{}, cj), cj
}

// joinFrom returns the collector of ctx (nil when there is none).
func joinFrom(ctx context.Context) *commitJoin {
	cj, _ := ctx.Value(commitJoinKey{}).(*commitJoin)
	return cj
}

// take returns the writes collected so far; nil-safe.
func (cj *commitJoin) take() []func(store.Tx) error {
	if cj == nil {
		return nil
	}
	cj.mu.Lock()
	defer cj.mu.Unlock()
	return append([]func(store.Tx) error(nil), cj.fns...)
}

// settle tells every joined write how its commit went and forgets them;
// nil-safe. Writes joined after take (none in practice: a save ends the
// request) hear err too, or errNotSaved when err is nil.
func (cj *commitJoin) settle(taken int, err error) {
	if cj == nil {
		return
	}
	cj.mu.Lock()
	dones := cj.dones
	cj.fns, cj.dones = nil, nil
	cj.mu.Unlock()
	for i, d := range dones {
		switch {
		case i < taken:
			d(err)
		case err != nil:
			d(err)
		default:
			d(errNotSaved)
		}
	}
}
