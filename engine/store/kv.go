package store

import "errors"

// KV is a transactional store of buckets of byte keys and values. Every
// function passed to View, Update or Batch sees a consistent snapshot; the
// changes of Update and Batch are all applied or none.
type KV interface {
	// View runs fn in a read-only transaction.
	View(fn func(Tx) error) error
	// Update runs fn in a read-write transaction and commits it unless fn
	// returns an error.
	Update(fn func(Tx) error) error
	// Batch is Update for many concurrent small writers: calls may be
	// coalesced into one commit, so fn may run more than once and must be
	// idempotent.
	Batch(fn func(Tx) error) error
	// Close releases the store; the file lock of a bbolt store is dropped.
	Close() error
}

// Tx is one transaction. Values returned by Get are only valid for the life
// of the transaction: copy them to keep them.
type Tx interface {
	Get(bucket string, key []byte) []byte
	// Put fails with ErrReadOnly in a View.
	Put(bucket string, key, value []byte) error
	Delete(bucket string, key []byte) error
	// ForEach visits the keys of bucket that start with prefix, in byte
	// order; fn returning ErrStop ends the walk without error.
	ForEach(bucket string, prefix []byte, fn func(k, v []byte) error) error
	// NextSequence returns a per-bucket increasing number (for append-only logs).
	NextSequence(bucket string) (uint64, error)
}

var (
	// ErrStop ends a ForEach walk early without failing the transaction.
	ErrStop = errors.New("store: stop")
	// ErrReadOnly is returned by writes inside View.
	ErrReadOnly = errors.New("store: write in a read-only transaction")
)
