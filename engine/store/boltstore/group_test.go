package boltstore

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
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

// TestGroupCommitRunsOnTheCallersGoroutine: a lone writer commits on its
// own goroutine (no hand-off to a committer goroutine and back), and of
// the writers queued behind a running commit, one leads the next commit on
// its own goroutine.
func TestGroupCommitRunsOnTheCallersGoroutine(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "a.db"), Options{})
	// A fn that fails is run again alone on its caller's goroutine, so
	// the check cannot fail the fn: it records what the first run saw.
	var (
		mu      sync.Mutex
		strange []string
	)
	onCaller := func(marker string) func(store.Tx) error {
		first := true
		return func(tx store.Tx) error {
			buf := make([]byte, 64<<10)
			if st := string(buf[:runtime.Stack(buf, false)]); first && !strings.Contains(st, marker) {
				mu.Lock()
				strange = append(strange, fmt.Sprintf("fn ran on a goroutine other than its caller's (%s):\n%s", marker, st))
				mu.Unlock()
			}
			first = false
			return tx.Put("b", []byte(marker), nil)
		}
	}
	if err := s.Batch(onCaller("TestGroupCommitRunsOnTheCallersGoroutine")); err != nil {
		t.Fatal(err)
	}

	// Behind a held commit, the queued writers' transaction runs on one
	// of theirs: each fn sees a writer's frame (leadsNext) on its stack.
	release := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.Batch(func(tx store.Tx) error { <-release; return nil })
	}()
	waitRunning(&s.group)
	const writers = 4
	errs := make(chan error, writers)
	for range writers {
		go func() { errs <- leadsNext(s, onCaller("boltstore.leadsNext")) }()
	}
	waitQueued(&s.group, writers)
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	for _, s := range strange {
		t.Error(s)
	}
}

// leadsNext is a named frame for TestGroupCommitRunsOnTheCallersGoroutine
// to find on the committing goroutine's stack.
//
//go:noinline
func leadsNext(s *Store, fn func(store.Tx) error) error { return s.Batch(fn) }
