package boltstore

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.KV {
		s, err := Open(filepath.Join(t.TempDir(), "authd.db"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func mustOpen(t *testing.T, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func putKV(t *testing.T, kv store.KV, bucket, k, v string) {
	t.Helper()
	if err := kv.Update(func(tx store.Tx) error { return tx.Put(bucket, []byte(k), []byte(v)) }); err != nil {
		t.Fatal(err)
	}
}

func getKV(t *testing.T, kv store.KV, bucket, k string) string {
	t.Helper()
	var v string
	if err := kv.View(func(tx store.Tx) error { v = string(tx.Get(bucket, []byte(k))); return nil }); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMigrationsMatchSchema(t *testing.T) {
	if len(migrations) != CurrentSchema-1 {
		t.Fatalf("%d migrations for schema %d: add the step from %d", len(migrations), CurrentSchema, CurrentSchema-1)
	}
}

func TestRestartKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dir", "authd.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	putKV(t, s, "users", "alice", "1")
	var seq uint64
	s.Update(func(tx store.Tx) (err error) { seq, err = tx.NextSequence("audit"); return err })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700 | os.ModeDir} {
		if fi, err := os.Stat(name); err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v, %v; want %v", name, fi.Mode(), err, want)
		}
	}
	if _, err := os.Stat(pidPath(path)); !os.IsNotExist(err) {
		t.Errorf("pid file left after Close: %v", err)
	}

	s = mustOpen(t, path, Options{})
	if v := getKV(t, s, "users", "alice"); v != "1" {
		t.Errorf("after restart: %q", v)
	}
	s.Update(func(tx store.Tx) (err error) { seq, err = tx.NextSequence("audit"); return err })
	if seq != 2 {
		t.Errorf("sequence after restart = %d, want 2", seq)
	}
	if v := getKV(t, s, metaBucket, schemaKey); v != strconv.Itoa(CurrentSchema) {
		t.Errorf("schema stamp %q", v)
	}
}

func TestMetaBucketReserved(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "a.db"), Options{})
	for _, op := range []func(tx store.Tx) error{
		func(tx store.Tx) error { return tx.Put(metaBucket, []byte(schemaKey), []byte("9")) },
		func(tx store.Tx) error { return tx.Delete(metaBucket, []byte(schemaKey)) },
		func(tx store.Tx) error { _, err := tx.NextSequence(metaBucket); return err },
	} {
		if err := s.Update(op); err == nil || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("write to meta: %v", err)
		}
	}
}

func TestLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "authd.db")
	s := mustOpen(t, path, Options{})
	if b, err := os.ReadFile(pidPath(path)); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("pid file: %q, %v", b, err)
	}
	if fi, _ := os.Stat(pidPath(path)); fi.Mode().Perm() != 0o600 {
		t.Errorf("pid file mode %v", fi.Mode())
	}

	start := time.Now()
	_, err := Open(path, Options{LockTimeout: 100 * time.Millisecond})
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second Open: %v (%T), want *LockedError", err, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("second Open took %v", d)
	}
	want := fmt.Sprintf("store %s is locked by another authd (pid %d)", path, os.Getpid())
	if le.PID != os.Getpid() || err.Error() != want {
		t.Errorf("got %q (pid %d)\nwant %q", err, le.PID, want)
	}
	// Read-only opens need the lock too (shared, which a writer excludes).
	if _, err := Open(path, Options{ReadOnly: true, LockTimeout: -1}); !errors.As(err, &le) {
		t.Errorf("read-only Open while locked: %v", err)
	}

	// A pid file that is missing, garbled or stale gives no number.
	for _, content := range []string{"", "garbage", "999999999"} {
		if content == "" {
			os.Remove(pidPath(path))
		} else {
			os.WriteFile(pidPath(path), []byte(content), 0o600)
		}
		_, err := Open(path, Options{LockTimeout: -1})
		want := fmt.Sprintf("store %s is locked by another authd (pid unknown)", path)
		if !errors.As(err, &le) || le.PID != 0 || err.Error() != want {
			t.Errorf("pid file %q: %v", content, err)
		}
	}

	s.Close()
	s2 := mustOpen(t, path, Options{LockTimeout: -1})
	putKV(t, s2, "b", "k", "v") // the lock was released
}

func TestReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "authd.db")
	if _, err := Open(path, Options{ReadOnly: true}); err == nil || !os.IsNotExist(errors.Unwrap(err)) && !strings.Contains(err.Error(), "no such file") {
		t.Errorf("read-only open of a missing file: %v", err)
	}
	s := mustOpen(t, path, Options{})
	putKV(t, s, "b", "k", "v")
	s.Close()

	r1 := mustOpen(t, path, Options{ReadOnly: true})
	r2 := mustOpen(t, path, Options{ReadOnly: true}) // readers share the lock
	if v := getKV(t, r2, "b", "k"); v != "v" {
		t.Errorf("read-only read %q", v)
	}
	err := r1.Update(func(tx store.Tx) error { return nil })
	if !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("Update on a read-only store: %v", err)
	}
	if err := r1.Check(); err != nil {
		t.Errorf("Check read-only: %v", err)
	}
	if _, err := os.Stat(pidPath(path)); !os.IsNotExist(err) {
		t.Errorf("a read-only open wrote the pid file")
	}
}

// goodDB returns the bytes of a valid store holding some data.
func goodDB(t *testing.T) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "good.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for b := 0; b < 3; b++ {
		s.Update(func(tx store.Tx) error {
			for i := 0; i < 500; i++ {
				tx.Put(fmt.Sprint("bucket", b), []byte(fmt.Sprintf("key%05d", i)), bytes.Repeat([]byte{'v'}, 100))
			}
			return nil
		})
	}
	s.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// highWater returns the end of the pages a store uses; bbolt grows files
// ahead, so cutting beyond it loses nothing.
func highWater(t *testing.T, data []byte) int {
	path := filepath.Join(t.TempDir(), "hw.db")
	os.WriteFile(path, data, 0o600)
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	db.View(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
	t.Logf("file %d bytes, pages in use up to %d", len(data), n)
	return int(n)
}

// useStore reads and writes everything, as a server would after Open.
func useStore(s *Store) error {
	err := s.View(func(tx store.Tx) error {
		for b := 0; b < 3; b++ {
			if err := tx.ForEach(fmt.Sprint("bucket", b), nil, func(k, v []byte) error { return nil }); err != nil {
				return err
			}
			tx.Get(fmt.Sprint("bucket", b), []byte("key00250"))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.Update(func(tx store.Tx) error {
		for i := 0; i < 50; i++ {
			if err := tx.Put("bucket1", []byte(fmt.Sprintf("key%05d", i*7)), []byte("x")); err != nil {
				return err
			}
			if err := tx.Delete("bucket2", []byte(fmt.Sprintf("key%05d", i*3))); err != nil {
				return err
			}
		}
		return nil
	})
}

func TestCorruptFiles(t *testing.T) {
	good := goodDB(t)
	hwm := highWater(t, good)
	rng := rand.New(rand.NewSource(7))
	random := make([]byte, 64<<10)
	rng.Read(random)
	cases := []struct {
		name string
		data []byte
	}{
		{"random bytes", random},
		{"a few bytes", []byte("hello")},
		{"text file", []byte(strings.Repeat("not a database\n", 1000))},
		{"zeroes", make([]byte, 32<<10)},
		{"truncated to one page", good[:4096]},
		{"truncated to half", good[:len(good)/2]},
		{"truncated mid-page", good[:len(good)/3+17]},
		{"meta pages zeroed", append(make([]byte, 8192), good[8192:]...)},
		{"last used page cut", good[:hwm-4096]},
		{"last used byte cut", good[:hwm-1]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "authd.db")
			if err := os.WriteFile(path, c.data, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(path, Options{})
			var ce *CorruptError
			if err == nil {
				defer s.Close()
				err = useStore(s)
			}
			if !errors.As(err, &ce) || ce.Path != path || !strings.Contains(err.Error(), path) {
				t.Fatalf("got %v (%T), want *CorruptError naming %s", err, err, path)
			}
			if testing.Verbose() {
				t.Log(err)
			}
		})
	}
}

// TestScribbledPages overwrites random pages of a valid store: whatever
// happens, it must be an error or valid data, never a crash.
func TestScribbledPages(t *testing.T) {
	good := goodDB(t)
	const page = 4096
	pages := len(good) / page
	rng := rand.New(rand.NewSource(42))
	n := 150
	if testing.Short() {
		n = 20
	}
	var corrupt, silent int
	for i := 0; i < n; i++ {
		data := bytes.Clone(good)
		for j := 0; j < 1+rng.Intn(3); j++ {
			p := 2 + rng.Intn(pages-2) // the meta pages are covered above
			off := p*page + rng.Intn(page)
			end := min(off+1+rng.Intn(page), len(data))
			rng.Read(data[off:end])
		}
		path := filepath.Join(t.TempDir(), fmt.Sprintf("s%d.db", i))
		os.WriteFile(path, data, 0o600)
		s, err := Open(path, Options{})
		if err == nil {
			err = useStore(s)
			if err == nil {
				err = s.Check()
			}
			s.Close()
		}
		var ce *CorruptError
		switch {
		case err == nil:
			silent++ // the scribble hit free space
		case errors.As(err, &ce):
			corrupt++
		default:
			t.Errorf("case %d: %v (%T), want *CorruptError", i, err, err)
		}
	}
	t.Logf("%d damaged stores reported as corrupt, %d unaffected", corrupt, silent)
}

func TestCheckFindsDamage(t *testing.T) {
	good := goodDB(t)
	path := filepath.Join(t.TempDir(), "authd.db")
	os.WriteFile(path, good, 0o600)
	s := mustOpen(t, path, Options{})
	if err := s.Check(); err != nil {
		t.Fatalf("Check of a good store: %v", err)
	}
}

func TestSchemaNewer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "authd.db")
	stamp(t, path, "3")
	_, err := Open(path, Options{})
	var se *SchemaError
	if !errors.As(err, &se) || se.Found != 3 || se.Supported != CurrentSchema {
		t.Fatalf("got %v, want *SchemaError", err)
	}
	want := fmt.Sprintf("store %s was created by a newer authd (schema 3); this build supports up to %d", path, CurrentSchema)
	if err.Error() != want {
		t.Errorf("message %q\nwant %q", err, want)
	}
	// The refused store was not touched and is unlocked again.
	if got := readStamp(t, path); got != "3" {
		t.Errorf("stamp changed to %q", got)
	}
}

func TestSchemaInvalidAndForeign(t *testing.T) {
	path := filepath.Join(t.TempDir(), "authd.db")
	stamp(t, path, "banana")
	var ce *CorruptError
	if _, err := Open(path, Options{}); !errors.As(err, &ce) {
		t.Errorf("garbled version: %v", err)
	}

	foreign := filepath.Join(t.TempDir(), "other.db")
	db, _ := bolt.Open(foreign, 0o600, nil)
	db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("widgets")); return err })
	db.Close()
	var se *SchemaError
	if _, err := Open(foreign, Options{}); !errors.As(err, &se) || se.Found != 0 || !strings.Contains(err.Error(), "without an authd schema") {
		t.Errorf("foreign bbolt file: %v", err)
	}
}

func TestMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "authd.db")
	s := mustOpen(t, path, Options{})
	putKV(t, s, "b", "k", "v1")
	s.Close()
	stamp(t, path, "1") // a store of schema 1, whatever this build writes

	var ran []int
	step := func(v int, fail bool) migration {
		return func(tx *bolt.Tx) error {
			ran = append(ran, v)
			b, _ := tx.CreateBucketIfNotExists([]byte("b"))
			b.Put([]byte("k"), []byte(fmt.Sprint("v", v+1)))
			if fail {
				return errors.New("step failed")
			}
			return nil
		}
	}
	// A failing step rolls every step back.
	_, err := open(path, Options{}, 3, []migration{step(1, false), step(2, true)})
	if err == nil || !strings.Contains(err.Error(), "schema 2 to 3") {
		t.Fatalf("failing migration: %v", err)
	}
	if got := readStamp(t, path); got != "1" {
		t.Fatalf("stamp after a failed migration: %q", got)
	}
	// Read-only cannot migrate.
	var se *SchemaError
	if _, err := open(path, Options{ReadOnly: true}, 3, []migration{step(1, false), step(2, false)}); !errors.As(err, &se) || !se.ReadOnly {
		t.Errorf("read-only open of an old schema: %v", err)
	}
	ran = nil
	s2, err := open(path, Options{}, 3, []migration{step(1, false), step(2, false)})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if fmt.Sprint(ran) != "[1 2]" || getKV(t, s2, "b", "k") != "v3" || getKV(t, s2, metaBucket, schemaKey) != "3" {
		t.Errorf("migrated: ran %v, k=%q, schema %q", ran, getKV(t, s2, "b", "k"), getKV(t, s2, metaBucket, schemaKey))
	}
}

func stamp(t *testing.T, path, version string) {
	t.Helper()
	s := mustOpen(t, path, Options{})
	s.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte(metaBucket)).Put([]byte(schemaKey), []byte(version)) })
}

func readStamp(t *testing.T, path string) string {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	db.View(func(tx *bolt.Tx) error { v = string(tx.Bucket([]byte(metaBucket)).Get([]byte(schemaKey))); return nil })
	return v
}

func TestBackup(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, filepath.Join(dir, "authd.db"), Options{})
	for i := 0; i < 200; i++ {
		putKV(t, s, "users", fmt.Sprintf("u%03d", i), strings.Repeat("x", i))
	}
	var buf bytes.Buffer
	n, err := s.Backup(&buf)
	if err != nil || n != int64(buf.Len()) || n == 0 {
		t.Fatalf("Backup: %d, %v (buffer %d)", n, err, buf.Len())
	}

	dst := filepath.Join(dir, "backup.db")
	os.WriteFile(dst, []byte("old backup"), 0o644) // replaced atomically
	putKV(t, s, "users", "late", "1")
	n2, err := s.BackupFile(dst)
	if err != nil || n2 == 0 {
		t.Fatalf("BackupFile: %d, %v", n2, err)
	}
	if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o600 || fi.Size() != n2 {
		t.Errorf("backup file mode %v size %d (wrote %d)", fi.Mode(), fi.Size(), n2)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
	b := mustOpen(t, dst, Options{})
	if v := getKV(t, b, "users", "u150"); v != strings.Repeat("x", 150) {
		t.Errorf("restored value %q", v)
	}
	if getKV(t, b, "users", "late") != "1" {
		t.Error("backup misses the last write")
	}
	if err := b.Check(); err != nil {
		t.Errorf("Check of the backup: %v", err)
	}

	if _, err := s.BackupFile(s.Path()); err == nil {
		t.Error("BackupFile over the live store: no error")
	}
	if _, err := s.BackupFile(filepath.Join(dir, "no", "such", "dir", "b.db")); err == nil {
		t.Error("BackupFile into a missing directory: no error")
	}
	if _, err := s.Backup(failingWriter{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Backup to a failing writer: %v", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestCallerPanicPassesThrough(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "a.db"), Options{})
	type myPanic struct{}
	defer func() {
		if p := recover(); p != (myPanic{}) {
			t.Errorf("recovered %#v, want the caller's own panic", p)
		}
	}()
	s.View(func(tx store.Tx) error { panic(myPanic{}) })
}

func TestCommitErrorIsWrapped(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "a.db"), Options{})
	s.Close()
	err := s.Update(func(tx store.Tx) error { return nil })
	if err == nil || !strings.Contains(err.Error(), s.Path()) {
		t.Errorf("Update on a closed store: %v", err)
	}
}

// leafFill is how full the leaf pages of bucket are, from bbolt's stats.
func leafFill(t *testing.T, s *Store, bucket string) float64 {
	t.Helper()
	var fill float64
	if err := s.db.View(func(btx *bolt.Tx) error {
		st := btx.Bucket([]byte(bucket)).Stats()
		fill = float64(st.LeafInuse) / float64(st.LeafAlloc)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return fill
}

// Keys written in order (an audit log's sequence numbers, a time-ordered
// index) pack their pages full; keys in random order keep bbolt's half-full
// split, whose room takes later inserts; and one put behind the tail
// returns a transaction to the default.
func TestPageFillFollowsKeyOrder(t *testing.T) {
	const n = 3000
	value := strings.Repeat("v", 100)
	for _, tc := range []struct {
		name     string
		key      func(i int) string
		min, max float64
	}{
		{"in order", func(i int) string { return fmt.Sprintf("%08d", i) }, 0.85, 1},
		{"random order", func(i int) string { return fmt.Sprintf("%08d", rand.Intn(1e8)) }, 0.5, 0.85},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustOpen(t, filepath.Join(t.TempDir(), "authd.db"), Options{})
			defer s.Close()
			for i := range n {
				putKV(t, s, "b", tc.key(i), value)
			}
			if fill := leafFill(t, s, "b"); fill < tc.min || fill > tc.max {
				t.Errorf("leaf pages %.0f%% full, want %.0f%%–%.0f%%", fill*100, tc.min*100, tc.max*100)
			}
		})
	}
	t.Run("put behind the tail", func(t *testing.T) {
		s := mustOpen(t, filepath.Join(t.TempDir(), "authd.db"), Options{})
		defer s.Close()
		putKV(t, s, "b", "m", value)
		var got []float64
		if err := s.Update(func(stx store.Tx) error {
			for _, k := range []string{"n", "o", "a", "z"} {
				if err := stx.Put("b", []byte(k), []byte(value)); err != nil {
					return err
				}
				got = append(got, stx.(*tx).bucket("b").FillPercent)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		want := []float64{appendFillPercent, appendFillPercent, bolt.DefaultFillPercent, bolt.DefaultFillPercent}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("fill percent after each put = %v, want %v", got, want)
		}
	})
}

// TestSchema1Upgraded: a store of the first schema opens with this build's
// steps and is stamped with its schema, data kept, so an older build then
// refuses it (SchemaError) instead of misreading the sealed OAuth keys.
func TestSchema1Upgraded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "authd.db")
	s := mustOpen(t, path, Options{})
	putKV(t, s, "users", "alice", "1")
	s.Close()
	stamp(t, path, "1")
	s = mustOpen(t, path, Options{})
	defer s.Close()
	if got := getKV(t, s, metaBucket, schemaKey); got != strconv.Itoa(CurrentSchema) || getKV(t, s, "users", "alice") != "1" {
		t.Errorf("after the upgrade: schema %q, alice %q", got, getKV(t, s, "users", "alice"))
	}
}
