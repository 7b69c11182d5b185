package boltstore

import (
	"errors"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/authd/authd/engine/store"
)

// waitQueued blocks until n calls wait in the group's queue.
func waitQueued(g *groupCommit, n int) {
	for {
		g.mu.Lock()
		q := len(g.queue)
		g.mu.Unlock()
		if q >= n {
			return
		}
		runtime.Gosched()
	}
}

// TestGroupCommitCoalesces holds one commit open while others arrive: they
// must share the next transaction, one failing fn must get its own error
// while the rest commit, and a panicking fn must panic in its own caller.
func TestGroupCommitCoalesces(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "a.db"), Options{})
	release := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.group.do(func(btx *bolt.Tx) error {
			<-release
			return nil
		})
	}()
	waitRunning(&s.group)

	const writers = 8
	errBad := errors.New("bad input")
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		txIDs = map[int]int{} // transaction id -> committed writers in it
		errs  = make([]error, writers)
	)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 3 {
				defer func() {
					if p := recover(); p != "fn's bug" {
						errs[i] = errors.New("the panicking fn's caller did not see its panic")
					}
				}()
			}
			var id int
			errs[i] = s.Batch(func(stx store.Tx) error {
				switch i {
				case 3:
					panic("fn's bug")
				case 5:
					stx.Put("b", []byte("bad"), []byte("x"))
					return errBad
				}
				id = stx.(*tx).btx.ID()
				return stx.Put("b", []byte{byte('0' + i)}, []byte("ok"))
			})
			if errs[i] == nil {
				mu.Lock()
				txIDs[id]++
				mu.Unlock()
			}
		}()
	}
	waitQueued(&s.group, writers)
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatalf("held commit: %v", err)
	}
	for i, err := range errs {
		switch i {
		case 3:
			if err != nil {
				t.Error(err)
			}
		case 5:
			if err != errBad {
				t.Errorf("failing fn: got %v, want its own error unchanged", err)
			}
		default:
			if err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
		}
	}
	if len(txIDs) != 1 {
		t.Errorf("the %d queued writers committed in %d transactions, want 1 shared: %v", writers-2, len(txIDs), txIDs)
	}
	err := s.View(func(tx store.Tx) error {
		if tx.Get("b", []byte("bad")) != nil {
			t.Error("the failing fn's write was committed")
		}
		for i := range writers {
			v := tx.Get("b", []byte{byte('0' + i)})
			if want := i != 3 && i != 5; (v != nil) != want {
				t.Errorf("writer %d committed = %v, want %v", i, v != nil, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitRunning blocks until the group's loop is committing.
func waitRunning(g *groupCommit) {
	for {
		g.mu.Lock()
		r := g.running && len(g.queue) == 0
		g.mu.Unlock()
		if r {
			return
		}
		runtime.Gosched()
	}
}

// TestGroupCommitAfterClose: every queued caller hears the closed store.
func TestGroupCommitAfterClose(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "a.db"), Options{})
	s.Close()
	err := s.Batch(func(tx store.Tx) error { return tx.Put("b", []byte("k"), nil) })
	if err == nil || !errors.Is(err, berrors.ErrDatabaseNotOpen) {
		t.Errorf("Batch on a closed store: %v", err)
	}
}
