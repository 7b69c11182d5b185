package boltstore

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// CurrentSchema is the layout version this build writes. It goes up by one
// whenever stored data changes shape, together with a step in migrations,
// so an older store is upgraded in place and a newer one is refused rather
// than misread.
//
// Schema 2: the OAuth signing keys and token HMAC secret are sealed with
// the store key (protocols/oauth seals a schema-1 store's at its first
// start, holding the key boltstore does not), and users record when their
// password was set. The step itself moves nothing; the number is there so
// that a build before it refuses the store cleanly instead of writing a
// clear HMAC secret beside the sealed one and failing on the keys.
const CurrentSchema = 2

const (
	metaBucket = "meta"
	schemaKey  = "schema_version"
)

// migration upgrades a store by one schema version inside the open
// transaction; an error rolls the whole upgrade back.
type migration func(tx *bolt.Tx) error

// migrations[i] upgrades schema i+1 to i+2; len(migrations) is always
// CurrentSchema-1 (a test checks it).
var migrations = []migration{
	func(*bolt.Tx) error { return nil }, // 1 → 2: see CurrentSchema
}

// initSchema stamps a fresh store, checks an existing one's version and
// migrates it when older. It is also the first read of a file, so it probes
// the pages every later transaction starts from.
func (s *Store) initSchema(supported int, steps []migration) error {
	info, err := os.Stat(s.path)
	if err != nil {
		return fmt.Errorf("opening store: %w", err)
	}
	var (
		found   int
		hasMeta bool
		empty   bool
	)
	err = s.do(s.db.View, func(btx *bolt.Tx) error {
		defer guard()
		if btx.Size() > info.Size() {
			return &CorruptError{Path: s.path, Err: fmt.Errorf("the file is truncated: %d bytes of %d", info.Size(), btx.Size())}
		}
		c := btx.Cursor()
		first, _ := c.First()
		empty = first == nil
		// Probe both ends of every bucket so a damaged branch page shows
		// up now rather than in the middle of a login.
		if err := btx.ForEach(func(name []byte, b *bolt.Bucket) error {
			bc := b.Cursor()
			bc.First()
			bc.Last()
			return nil
		}); err != nil {
			return &CorruptError{Path: s.path, Err: err}
		}
		meta := btx.Bucket([]byte(metaBucket))
		if meta == nil {
			return nil
		}
		hasMeta = true
		raw := meta.Get([]byte(schemaKey))
		n, err := strconv.Atoi(string(raw))
		if err != nil || n < 1 {
			return &CorruptError{Path: s.path, Err: fmt.Errorf("invalid schema version %.20q", raw)}
		}
		found = n
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case !hasMeta && !empty:
		return &SchemaError{Path: s.path, Found: 0, Supported: supported, ReadOnly: s.readOnly}
	case !hasMeta && s.readOnly:
		return nil // an empty file: nothing to misread
	case found > supported:
		return &SchemaError{Path: s.path, Found: found, Supported: supported, ReadOnly: s.readOnly}
	case hasMeta && found == supported:
		return nil
	case s.readOnly:
		return &SchemaError{Path: s.path, Found: found, Supported: supported, ReadOnly: true}
	}
	// A fresh store (found == 0) is stamped; an older one is migrated.
	return s.do(s.db.Update, func(btx *bolt.Tx) error {
		defer guard()
		return migrate(btx, found, supported, steps)
	})
}

// migrate runs steps from schema `from` (0: fresh, nothing to migrate) to
// `to` and stamps the result.
func migrate(btx *bolt.Tx, from, to int, steps []migration) error {
	if from > 0 {
		if len(steps) < to-1 {
			return fmt.Errorf("boltstore: no migration from schema %d to %d", len(steps)+1, to)
		}
		for v := from; v < to; v++ {
			if err := steps[v-1](btx); err != nil {
				return fmt.Errorf("migrating the store from schema %d to %d: %w", v, v+1, err)
			}
		}
	}
	meta, err := btx.CreateBucketIfNotExists([]byte(metaBucket))
	if err != nil {
		return err
	}
	return meta.Put([]byte(schemaKey), []byte(strconv.Itoa(to)))
}

// Check walks every page of the store with bbolt's consistency check, for
// `authd backup` and operators who suspect damage that Open's quick probe
// cannot see. It reads the whole file.
func (s *Store) Check() error {
	return s.do(s.db.View, func(btx *bolt.Tx) error {
		defer guard()
		var errs []error
		for err := range btx.Check() {
			if len(errs) < 5 {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			return &CorruptError{Path: s.path, Err: errors.Join(errs...)}
		}
		return nil
	})
}
