// Package boltstore is the embedded store.KV: one bbolt file in the data
// directory, so a single authd needs no database server and a login that
// suspends survives a restart.
//
// Open takes bbolt's exclusive file lock and fails fast with *LockedError
// when another authd holds it; a damaged file or a foreign one gives
// *CorruptError and a store written by a newer authd gives *SchemaError,
// never a panic. Each store.KV bucket is a top-level bbolt bucket, created
// on first write; the bucket "meta" is reserved for the schema version.
package boltstore

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/authd/authd/engine/store"
)

// DefaultLockTimeout is how long Open waits for the file lock when
// Options.LockTimeout is zero: long enough to ride out a restart's overlap,
// short enough that a second `authd run` fails at once with a clear cause.
const DefaultLockTimeout = time.Second

// Options tunes Open.
type Options struct {
	// ReadOnly opens with a shared lock for inspection tools; writes fail
	// with store.ErrReadOnly. The file must exist.
	ReadOnly bool
	// LockTimeout bounds the wait for the file lock (0: DefaultLockTimeout;
	// negative: a single attempt).
	LockTimeout time.Duration
}

// Store is a store.KV on one bbolt file.
type Store struct {
	db       *bolt.DB
	path     string
	readOnly bool
	ownPID   bool // we wrote <path>.pid and remove it on Close
	closed   atomic.Bool
	group    groupCommit
}

var _ store.KV = (*Store)(nil)

// Open opens (read-write: creates) the store at path. The file is created
// with mode 0600 and its directory with 0700, because it holds password
// hashes and session state.
func Open(path string, opts Options) (*Store, error) {
	return open(path, opts, CurrentSchema, migrations)
}

func open(path string, opts Options, supported int, steps []migration) (*Store, error) {
	if path == "" {
		return nil, errors.New("boltstore: empty store path")
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("creating the store directory: %w", err)
		}
	}
	timeout := opts.LockTimeout
	switch {
	case timeout == 0:
		timeout = DefaultLockTimeout
	case timeout < 0:
		timeout = time.Nanosecond // bbolt treats 0 as "wait forever"
	}
	db, err := openDB(path, &bolt.Options{
		Timeout:         timeout,
		ReadOnly:        opts.ReadOnly,
		PreLoadFreelist: true, // so Check also works read-only
	})
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, path: path, readOnly: opts.ReadOnly}
	s.group.store = s
	if err := s.initSchema(supported, steps); err != nil {
		_ = db.Close()
		return nil, err
	}
	if !opts.ReadOnly {
		s.ownPID = writePID(path) == nil
	}
	return s, nil
}

// openDB is bolt.Open made safe against damaged files: bbolt may panic or
// fault on the mmap while reading them.
func openDB(path string, bo *bolt.Options) (db *bolt.DB, err error) {
	var file *os.File
	bo.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		file = f
		return f, err
	}
	defer func() {
		if p := recover(); p != nil {
			if file != nil {
				_ = file.Close() // drops the lock too
			}
			db, err = nil, &CorruptError{Path: path, Err: panicError(p)}
		}
	}()
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)

	db, err = bolt.Open(path, 0o600, bo)
	if err == nil {
		return db, nil
	}
	var errno syscall.Errno
	var pathErr *os.PathError
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, &LockedError{Path: path, PID: readPID(path)}
	case errors.As(err, &pathErr), errors.As(err, &errno):
		return nil, fmt.Errorf("opening store: %w", err) // already names the path
	default: // bbolt's own verdict on the content
		return nil, &CorruptError{Path: path, Err: err}
	}
}

// Path returns the file the store lives in.
func (s *Store) Path() string { return s.path }

// View runs fn in a read-only transaction.
func (s *Store) View(fn func(store.Tx) error) error {
	return s.do(s.db.View, wrap(fn))
}

// Update runs fn in a read-write transaction and commits unless fn returns
// an error. fn's error is returned unchanged; a failed commit is wrapped
// with the store's path.
func (s *Store) Update(fn func(store.Tx) error) error {
	return s.do(s.db.Update, wrap(fn))
}

// Batch is Update coalesced with concurrent callers into one commit (one
// fsync) by a group commit that, unlike bbolt's DB.Batch, waits for no
// timer; fn may run more than once.
func (s *Store) Batch(fn func(store.Tx) error) error {
	return s.group.do(wrap(fn))
}

// Close releases the file lock and removes the pid file.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	err := s.db.Close()
	if s.ownPID {
		removePID(s.path)
	}
	if err != nil {
		return fmt.Errorf("closing store %s: %w", s.path, err)
	}
	return nil
}

func wrap(fn func(store.Tx) error) func(*bolt.Tx) error {
	return func(btx *bolt.Tx) error { return fn(&tx{btx: btx}) }
}

// corruptPanic carries a panic raised inside bbolt (as opposed to one raised
// by the caller's fn) up to do, which turns it into a *CorruptError.
type corruptPanic struct{ v any }

// guard, deferred around calls into bbolt, marks their panics as bbolt's.
func guard() {
	if p := recover(); p != nil {
		if _, ok := p.(corruptPanic); ok {
			panic(p)
		}
		panic(corruptPanic{p})
	}
}

func panicError(p any) error {
	if cp, ok := p.(corruptPanic); ok {
		p = cp.v
	}
	return fmt.Errorf("bbolt failed reading it: %v", p)
}

// do runs fn in a transaction begun by begin (db.View or db.Update).
// Panics inside bbolt become *CorruptError; a panic of fn's own code is
// passed on untouched.
func (s *Store) do(begin func(func(*bolt.Tx) error) error, fn func(*bolt.Tx) error) (err error) {
	var (
		state atomic.Int32 // 0 before fn, 1 in fn, 2 after fn (commit)
		fnErr atomic.Bool  // fn returned the error
	)
	defer func() {
		if p := recover(); p != nil {
			if _, ours := p.(corruptPanic); !ours && state.Load() == 1 {
				panic(p)
			}
			err = &CorruptError{Path: s.path, Err: panicError(p)}
		}
	}()
	old := debug.SetPanicOnFault(true) // a fault on a damaged mmap panics instead of crashing
	defer debug.SetPanicOnFault(old)
	err = begin(func(btx *bolt.Tx) error {
		state.Store(1)
		old := debug.SetPanicOnFault(true) // Batch runs fn on bbolt's goroutine
		defer debug.SetPanicOnFault(old)
		e := fn(btx)
		fnErr.Store(e != nil)
		state.Store(2)
		return e
	})
	if err == nil || fnErr.Load() {
		return err
	}
	switch {
	case errors.Is(err, berrors.ErrDatabaseReadOnly):
		return fmt.Errorf("store %s was opened read-only: %w", s.path, store.ErrReadOnly)
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return fmt.Errorf("store %s is closed: %w", s.path, err)
	default:
		return fmt.Errorf("store %s: %w", s.path, err)
	}
}

// tx adapts a bbolt transaction to store.Tx.
type tx struct {
	btx *bolt.Tx
	// tails are the buckets this transaction has put to, and whether
	// every put so far went past the bucket's last key (fillFor).
	tails []bucketTail
}

// bucketTail is one bucket's entry in tx.tails.
type bucketTail struct {
	b      *bolt.Bucket
	append bool
}

// appendFillPercent is how full bbolt packs the pages of a bucket whose
// puts in a transaction all went past its last key. bbolt splits a page at
// half full by default, which suits keys that arrive in random order (the
// half left empty takes later inserts) but leaves every page of a bucket
// written in key order half empty for good: the audit log (sequence
// numbers) and the expiry indexes (time-ordered keys), where nothing is
// ever inserted behind the tail. Packed, those buckets take half the pages
// on disk and in the page cache.
const appendFillPercent = 1.0

var errMetaReserved = fmt.Errorf("boltstore: bucket %q is reserved for the schema version", metaBucket)

// Get returns nil for a missing bucket or key; the value lives in the mmap
// and is valid until the transaction ends.
func (t *tx) Get(bucket string, key []byte) []byte {
	defer guard()
	b := t.btx.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	return b.Get(key)
}

// writable returns the bucket to change, creating it when create is set
// (nil, nil when it does not exist and create is not set).
func (t *tx) writable(bucket string, create bool) (*bolt.Bucket, error) {
	switch {
	case !t.btx.Writable():
		return nil, store.ErrReadOnly
	case bucket == metaBucket:
		return nil, errMetaReserved
	case bucket == "":
		return nil, errors.New("boltstore: empty bucket name")
	}
	defer guard()
	if !create {
		return t.btx.Bucket([]byte(bucket)), nil
	}
	b, err := t.btx.CreateBucketIfNotExists([]byte(bucket))
	if err != nil {
		return nil, fmt.Errorf("boltstore: creating bucket %q: %w", bucket, err)
	}
	return b, nil
}

// Put creates the bucket on first use.
func (t *tx) Put(bucket string, key, value []byte) error {
	if len(key) == 0 {
		return fmt.Errorf("boltstore: put in bucket %q: empty key", bucket)
	}
	b, err := t.writable(bucket, true)
	if err != nil {
		return err
	}
	// bbolt keeps the slices until commit; copy so callers may reuse them.
	// make, not append to nil: an empty value must stay non-nil.
	k := append(make([]byte, 0, len(key)), key...)
	v := append(make([]byte, 0, len(value)), value...)
	defer guard()
	t.fillFor(b, k)
	if err := b.Put(k, v); err != nil {
		return fmt.Errorf("boltstore: put in bucket %q: %w", bucket, err)
	}
	return nil
}

// fillFor sets how full b's pages are packed when this transaction
// commits, before key is put: appendFillPercent while every put to b in
// the transaction went past its last key, bbolt's default as soon as one
// lands before it. bbolt reads FillPercent when it splits pages, at
// commit. Transactions of a group commit share the bbolt bucket, so the
// last of them to put to it decides; either way only the page fill
// changes, never what is stored.
func (t *tx) fillFor(b *bolt.Bucket, key []byte) {
	i := 0
	for i < len(t.tails) && t.tails[i].b != b {
		i++
	}
	if i == len(t.tails) {
		t.tails = append(t.tails, bucketTail{b: b, append: true})
	}
	if !t.tails[i].append {
		return
	}
	last, _ := b.Cursor().Last() // sees this transaction's own puts
	if last != nil && bytes.Compare(key, last) <= 0 {
		t.tails[i].append = false
		b.FillPercent = bolt.DefaultFillPercent
		return
	}
	b.FillPercent = appendFillPercent
}

// Delete of a missing key or bucket is not an error.
func (t *tx) Delete(bucket string, key []byte) error {
	b, err := t.writable(bucket, false)
	if err != nil || b == nil {
		return err
	}
	defer guard()
	if err := b.Delete(key); err != nil {
		return fmt.Errorf("boltstore: delete in bucket %q: %w", bucket, err)
	}
	return nil
}

// NextSequence uses the bucket's bbolt sequence, rolled back with the
// transaction.
func (t *tx) NextSequence(bucket string) (uint64, error) {
	b, err := t.writable(bucket, true)
	if err != nil {
		return 0, err
	}
	defer guard()
	n, err := b.NextSequence()
	if err != nil {
		return 0, fmt.Errorf("boltstore: sequence of bucket %q: %w", bucket, err)
	}
	return n, nil
}

// ForEach walks keys with prefix in byte order; fn may change the bucket in
// a writing transaction.
func (t *tx) ForEach(bucket string, prefix []byte, fn func(k, v []byte) error) error {
	b := t.bucket(bucket)
	if b == nil {
		return nil
	}
	c := t.cursor(b)
	// In a writing transaction fn may change the bucket, which invalidates
	// a bbolt cursor: re-seek after each call from a copy of the last key.
	var last []byte
	writable := t.btx.Writable()
	for k, v := seek(c, prefix); k != nil && bytes.HasPrefix(k, prefix); {
		if v != nil { // nil: a nested bucket, which store.KV never makes
			if err := fn(k, v); err != nil {
				if errors.Is(err, store.ErrStop) {
					return nil
				}
				return err
			}
		}
		if !writable {
			k, v = next(c)
			continue
		}
		last = append(last[:0], k...)
		if k, v = seek(c, last); k != nil && bytes.Equal(k, last) {
			k, v = next(c)
		}
	}
	return nil
}

func (t *tx) bucket(name string) *bolt.Bucket {
	defer guard()
	return t.btx.Bucket([]byte(name))
}

func (t *tx) cursor(b *bolt.Bucket) *bolt.Cursor {
	defer guard()
	return b.Cursor()
}

func seek(c *bolt.Cursor, k []byte) ([]byte, []byte) {
	defer guard()
	return c.Seek(k)
}

func next(c *bolt.Cursor) ([]byte, []byte) {
	defer guard()
	return c.Next()
}
