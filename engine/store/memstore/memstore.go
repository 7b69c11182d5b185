// Package memstore is an in-memory store.KV for tests and the offline
// `authd test` runner: the same transactional semantics as the bbolt store
// (snapshot reads, all-or-nothing writes, byte-ordered prefix walks) without
// a file, so scenarios run fast and leave nothing behind.
//
// Readers share a RWMutex for the life of a View; a writer (Update or
// Batch; one at a time) keeps its changes in a private overlay and takes the
// write lock only to apply them on commit, so a View never sees half of a
// transaction and an error or panic simply drops the overlay. As with
// bbolt, transactions must not nest (a View inside an Update is fine; an
// Update inside an Update, or a View inside a View, can deadlock).
package memstore

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/authd/authd/engine/store"
)

// ErrClosed is returned by every transaction on a closed store, so that a
// test using a store after its teardown fails loudly instead of reading an
// empty store.
var ErrClosed = errors.New("memstore: store is closed")

// maxKeySize mirrors bbolt's limit so a key that would fail in production
// fails in tests too.
const maxKeySize = 32768

// Store is an in-memory store.KV. The zero value is not usable; call New.
type Store struct {
	wmu sync.Mutex   // serialises writers, like bbolt's single writer
	mu  sync.RWMutex // readers hold R for a View; a commit holds W
	// buckets is only mutated by a commit, under wmu and mu.W.
	buckets map[string]*bucket
	closed  bool // guarded by mu (set under both wmu and mu.W)
}

type bucket struct {
	vals map[string][]byte
	keys []string // sorted, the keys of vals
	seq  uint64
}

// New returns an empty store.
func New() *Store { return &Store{buckets: map[string]*bucket{}} }

// View runs fn in a read-only transaction.
func (s *Store) View(fn func(store.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return fn(&tx{s: s})
}

// Update runs fn in a read-write transaction and applies its changes only if
// fn returns nil.
func (s *Store) Update(fn func(store.Tx) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	t := &tx{s: s, writable: true, dirty: map[string]*overlay{}}
	if err := fn(t); err != nil {
		return err
	}
	s.commit(t)
	return nil
}

// Batch is Update: an in-memory commit is cheap, so there is nothing to
// coalesce, and fn runs exactly once.
func (s *Store) Batch(fn func(store.Tx) error) error { return s.Update(fn) }

// Close drops the data; later transactions fail with ErrClosed.
func (s *Store) Close() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.buckets = nil
	return nil
}

// overlay is a writer's pending changes to one bucket.
type overlay struct {
	vals   map[string][]byte // nil value: deleted
	seq    uint64
	seqSet bool
}

type tx struct {
	s        *Store
	writable bool
	dirty    map[string]*overlay
}

func (t *tx) base(bucket string) *bucket { return t.s.buckets[bucket] }

// lookup returns the current value of key, and whether the overlay decided.
func (t *tx) lookup(bucket, key string) []byte {
	if o := t.dirty[bucket]; o != nil {
		if v, ok := o.vals[key]; ok {
			return v
		}
	}
	if b := t.base(bucket); b != nil {
		return b.vals[key]
	}
	return nil
}

// Get returns a copy of the value, nil if there is none.
func (t *tx) Get(bucket string, key []byte) []byte {
	v := t.lookup(bucket, string(key))
	if v == nil {
		return nil
	}
	// A copy, so a caller that writes into it cannot corrupt the store.
	return append(make([]byte, 0, len(v)), v...)
}

func (t *tx) overlay(bucket string) (*overlay, error) {
	if !t.writable {
		return nil, store.ErrReadOnly
	}
	if bucket == "" {
		return nil, errors.New("memstore: empty bucket name")
	}
	o := t.dirty[bucket]
	if o == nil {
		o = &overlay{vals: map[string][]byte{}}
		t.dirty[bucket] = o
	}
	return o, nil
}

// Put records the change in the overlay; empty and over-long keys fail as
// in bbolt.
func (t *tx) Put(bucket string, key, value []byte) error {
	o, err := t.overlay(bucket)
	if err != nil {
		return err
	}
	switch {
	case len(key) == 0:
		return fmt.Errorf("memstore: put in bucket %q: empty key", bucket)
	case len(key) > maxKeySize:
		return fmt.Errorf("memstore: put in bucket %q: key of %d bytes is longer than %d", bucket, len(key), maxKeySize)
	}
	o.vals[string(key)] = append(make([]byte, 0, len(value)), value...) // never nil
	return nil
}

// Delete of a missing key is not an error.
func (t *tx) Delete(bucket string, key []byte) error {
	if !t.writable {
		return store.ErrReadOnly
	}
	if t.lookup(bucket, string(key)) == nil {
		return nil
	}
	o, err := t.overlay(bucket)
	if err != nil {
		return err
	}
	o.vals[string(key)] = nil
	return nil
}

// NextSequence counts per bucket, rolled back with the transaction.
func (t *tx) NextSequence(bucket string) (uint64, error) {
	o, err := t.overlay(bucket)
	if err != nil {
		return 0, err
	}
	if !o.seqSet {
		if b := t.base(bucket); b != nil {
			o.seq = b.seq
		}
		o.seqSet = true
	}
	o.seq++
	return o.seq, nil
}

// ForEach walks the committed keys and the overlay's, merged in byte order.
func (t *tx) ForEach(bucket string, prefix []byte, fn func(k, v []byte) error) error {
	p := string(prefix)
	var keys []string
	if b := t.base(bucket); b != nil {
		keys = prefixRange(b.keys, p)
	}
	if o := t.dirty[bucket]; o != nil && len(o.vals) > 0 {
		// Merge the pending keys in; values are looked up at visit time, so
		// changes fn makes to keys not yet visited are seen.
		var pending []string
		for k := range o.vals {
			if strings.HasPrefix(k, p) {
				pending = append(pending, k)
			}
		}
		slices.Sort(pending)
		keys = mergeSorted(keys, pending)
	}
	for _, k := range keys {
		v := t.lookup(bucket, k)
		if v == nil {
			continue // deleted in this transaction
		}
		if err := fn([]byte(k), bytes.Clone(v)); err != nil {
			if err == store.ErrStop {
				return nil
			}
			return err
		}
	}
	return nil
}

// prefixRange returns the sub-slice of sorted keys that start with p.
func prefixRange(keys []string, p string) []string {
	lo := sort.SearchStrings(keys, p)
	hi := lo
	for hi < len(keys) && strings.HasPrefix(keys[hi], p) {
		hi++
	}
	return keys[lo:hi:hi]
}

// mergeSorted merges two sorted lists into a new one without duplicates.
func mergeSorted(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default: // equal
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// commit applies t's overlay. It runs under wmu; readers are excluded only
// while the maps are rewritten.
func (s *Store) commit(t *tx) {
	if len(t.dirty) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, o := range t.dirty {
		b := s.buckets[name]
		if b == nil {
			b = &bucket{vals: make(map[string][]byte, len(o.vals))}
			s.buckets[name] = b
		}
		if o.seqSet {
			b.seq = o.seq
		}
		var added []string
		var removed map[string]bool
		for k, v := range o.vals {
			_, had := b.vals[k]
			switch {
			case v == nil && had:
				delete(b.vals, k)
				if removed == nil {
					removed = map[string]bool{}
				}
				removed[k] = true
			case v != nil:
				if !had {
					added = append(added, k)
				}
				b.vals[k] = v
			}
		}
		if len(added) == 0 && len(removed) == 0 {
			continue
		}
		// In place is safe: no View runs during a commit, and a View does
		// not keep b.keys past its end.
		keys := b.keys
		if len(removed) > 0 {
			keys = slices.DeleteFunc(keys, func(k string) bool { return removed[k] })
		}
		if len(added) > 0 {
			slices.Sort(added)
			if len(keys) == 0 || keys[len(keys)-1] < added[0] {
				keys = append(keys, added...) // appending to a log: no merge
			} else {
				keys = mergeSorted(keys, added)
			}
		}
		b.keys = keys
	}
}
