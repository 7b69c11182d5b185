// Package storetest is the conformance suite every store.KV backend must
// pass, so that repositories written against memstore in tests behave the
// same on bbolt in production (and on any clustered backend added later).
package storetest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"sync"
	"testing"

	"github.com/authd/authd/engine/store"
)

// Open returns a fresh, empty store for one subtest. Run closes it when the
// subtest ends, so backends must tolerate a second Close.
type Open func(t *testing.T) store.KV

var errBoom = errors.New("boom")

// Run runs the whole suite as subtests of t, opening a fresh store for each.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, kv store.KV)
	}{
		{"GetPutDelete", testGetPutDelete},
		{"EmptyValueIsNotMissing", testEmptyValue},
		{"InvalidNames", testInvalidNames},
		{"ForEachPrefixOrder", testForEachPrefixOrder},
		{"ForEachStop", testForEachStop},
		{"ReadOnlyView", testReadOnlyView},
		{"Rollback", testRollback},
		{"ReadYourWrites", testReadYourWrites},
		{"ModifyDuringForEach", testModifyDuringForEach},
		{"NextSequence", testNextSequence},
		{"ValuesCopied", testValuesCopied},
		{"PanicRollsBack", testPanicRollsBack},
		{"BatchConcurrent", testBatchConcurrent},
		{"ConsistentSnapshot", testConsistentSnapshot},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kv := open(t)
			t.Cleanup(func() { _ = kv.Close() })
			tc.fn(t, kv)
		})
	}
}

func put(t *testing.T, kv store.KV, bucket string, kvs ...string) {
	t.Helper()
	if err := kv.Update(func(tx store.Tx) error {
		for i := 0; i+1 < len(kvs); i += 2 {
			if err := tx.Put(bucket, []byte(kvs[i]), []byte(kvs[i+1])); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("put: %v", err)
	}
}

// get returns the value and whether the key exists.
func get(t *testing.T, kv store.KV, bucket, key string) (string, bool) {
	t.Helper()
	var v []byte
	if err := kv.View(func(tx store.Tx) error {
		if b := tx.Get(bucket, []byte(key)); b != nil {
			v = bytes.Clone(b)
			if v == nil {
				v = []byte{}
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("get: %v", err)
	}
	return string(v), v != nil
}

// dump lists bucket's keys under prefix as "k=v", in visiting order.
func dump(t *testing.T, kv store.KV, bucket, prefix string) []string {
	t.Helper()
	var out []string
	if err := kv.View(func(tx store.Tx) error {
		return tx.ForEach(bucket, []byte(prefix), func(k, v []byte) error {
			out = append(out, string(k)+"="+string(v))
			return nil
		})
	}); err != nil {
		t.Fatalf("dump: %v", err)
	}
	return out
}

func testGetPutDelete(t *testing.T, kv store.KV) {
	put(t, kv, "b", "a", "1", "b", "2")
	put(t, kv, "other", "a", "x")
	steps := []struct {
		name   string
		op     func(tx store.Tx) error
		bucket string
		key    string
		want   string
		exists bool
	}{
		{"stored", nil, "b", "a", "1", true},
		{"buckets are separate", nil, "other", "a", "x", true},
		{"missing key", nil, "b", "zz", "", false},
		{"missing bucket", nil, "nope", "a", "", false},
		{"overwrite", func(tx store.Tx) error { return tx.Put("b", []byte("a"), []byte("one")) }, "b", "a", "one", true},
		{"delete", func(tx store.Tx) error { return tx.Delete("b", []byte("a")) }, "b", "a", "", false},
		{"delete leaves neighbours", nil, "b", "b", "2", true},
		{"delete missing key", func(tx store.Tx) error { return tx.Delete("b", []byte("zz")) }, "b", "b", "2", true},
		{"delete in missing bucket", func(tx store.Tx) error { return tx.Delete("nope", []byte("a")) }, "nope", "a", "", false},
		{"binary key", func(tx store.Tx) error { return tx.Put("b", []byte{0, 0xff, 0}, []byte{1}) }, "b", "\x00\xff\x00", "\x01", true},
	}
	for _, s := range steps {
		if s.op != nil {
			if err := kv.Update(s.op); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		got, ok := get(t, kv, s.bucket, s.key)
		if got != s.want || ok != s.exists {
			t.Errorf("%s: Get(%q, %q) = %q, %v; want %q, %v", s.name, s.bucket, s.key, got, ok, s.want, s.exists)
		}
	}
}

func testEmptyValue(t *testing.T, kv store.KV) {
	err := kv.Update(func(tx store.Tx) error {
		if err := tx.Put("b", []byte("nil"), nil); err != nil {
			return err
		}
		if err := tx.Put("b", []byte("empty"), []byte{}); err != nil {
			return err
		}
		for _, k := range []string{"nil", "empty"} {
			if v := tx.Get("b", []byte(k)); v == nil || len(v) != 0 {
				return fmt.Errorf("in the writing tx Get(%q) = %#v, want empty non-nil", k, v)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"nil", "empty"} {
		if v, ok := get(t, kv, "b", k); !ok || v != "" {
			t.Errorf("Get(%q) = %q, %v; want empty and present", k, v, ok)
		}
	}
	if got := dump(t, kv, "b", ""); !slices.Equal(got, []string{"empty=", "nil="}) {
		t.Errorf("ForEach = %q", got)
	}
}

func testInvalidNames(t *testing.T, kv store.KV) {
	cases := []struct {
		name string
		op   func(tx store.Tx) error
	}{
		{"empty key", func(tx store.Tx) error { return tx.Put("b", nil, []byte("v")) }},
		{"empty bucket", func(tx store.Tx) error { return tx.Put("", []byte("k"), []byte("v")) }},
		{"sequence of empty bucket", func(tx store.Tx) error { _, err := tx.NextSequence(""); return err }},
	}
	for _, c := range cases {
		if err := kv.Update(c.op); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if got := dump(t, kv, "b", ""); len(got) != 0 {
		t.Errorf("failed writes left %q", got)
	}
}

func testForEachPrefixOrder(t *testing.T, kv store.KV) {
	keys := []string{"a", "a\x00", "a\x00x", "a\xff", "ab", "abc", "b", "\x00", "\xff", "\xff\xff", "B", "a0"}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 200; i++ {
		keys = append(keys, fmt.Sprintf("n%03d", rng.Intn(1000)))
	}
	shuffled := slices.Clone(keys)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, k := range shuffled {
		put(t, kv, "b", k, "v"+k)
	}
	sorted := slices.Compact(slices.Sorted(slices.Values(keys)))
	want := func(prefix string) []string {
		var out []string
		for _, k := range sorted {
			if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
				out = append(out, k+"=v"+k)
			}
		}
		return out
	}
	for _, p := range []string{"", "a", "a\x00", "ab", "abc", "abcd", "n0", "\xff", "z", "\x00"} {
		if got, w := dump(t, kv, "b", p), want(p); !slices.Equal(got, w) {
			t.Errorf("ForEach(prefix %q) = %q\nwant %q", p, got, w)
		}
	}
	if got := dump(t, kv, "missing", ""); len(got) != 0 {
		t.Errorf("missing bucket: %q", got)
	}
}

func testForEachStop(t *testing.T, kv store.KV) {
	put(t, kv, "b", "1", "", "2", "", "3", "", "4", "")
	var seen []string
	err := kv.View(func(tx store.Tx) error {
		return tx.ForEach("b", nil, func(k, _ []byte) error {
			seen = append(seen, string(k))
			if len(seen) == 2 {
				return store.ErrStop
			}
			return nil
		})
	})
	if err != nil || !slices.Equal(seen, []string{"1", "2"}) {
		t.Errorf("ErrStop: err %v, seen %q", err, seen)
	}
	wrapped := fmt.Errorf("walking: %w", errBoom)
	err = kv.View(func(tx store.Tx) error {
		return tx.ForEach("b", nil, func(k, _ []byte) error { return wrapped })
	})
	if !errors.Is(err, errBoom) {
		t.Errorf("callback error: got %v, want %v", err, wrapped)
	}
	// ErrStop inside Update ends the walk but keeps the transaction.
	err = kv.Update(func(tx store.Tx) error {
		if err := tx.ForEach("b", nil, func(k, _ []byte) error { return store.ErrStop }); err != nil {
			return err
		}
		return tx.Put("b", []byte("5"), nil)
	})
	if _, ok := get(t, kv, "b", "5"); err != nil || !ok {
		t.Errorf("Update after ErrStop: %v, committed %v", err, ok)
	}
}

func testReadOnlyView(t *testing.T, kv store.KV) {
	put(t, kv, "b", "k", "v")
	ops := []struct {
		name string
		op   func(tx store.Tx) error
	}{
		{"Put", func(tx store.Tx) error { return tx.Put("b", []byte("k"), []byte("x")) }},
		{"Put new bucket", func(tx store.Tx) error { return tx.Put("new", []byte("k"), []byte("x")) }},
		{"Delete", func(tx store.Tx) error { return tx.Delete("b", []byte("k")) }},
		{"Delete missing bucket", func(tx store.Tx) error { return tx.Delete("new", []byte("k")) }},
		{"NextSequence", func(tx store.Tx) error { _, err := tx.NextSequence("b"); return err }},
	}
	for _, o := range ops {
		var inner error
		err := kv.View(func(tx store.Tx) error {
			inner = o.op(tx)
			return nil
		})
		if err != nil || !errors.Is(inner, store.ErrReadOnly) {
			t.Errorf("%s in View: %v (View %v), want ErrReadOnly", o.name, inner, err)
		}
	}
	if v, _ := get(t, kv, "b", "k"); v != "v" {
		t.Errorf("View changed the value to %q", v)
	}
	if err := kv.View(func(tx store.Tx) error { return errBoom }); !errors.Is(err, errBoom) {
		t.Errorf("View error = %v", err)
	}
}

func testRollback(t *testing.T, kv store.KV) {
	put(t, kv, "b", "keep", "1", "gone", "2")
	err := kv.Update(func(tx store.Tx) error { _, err := tx.NextSequence("b"); return err })
	if err != nil {
		t.Fatal(err)
	}
	err = kv.Update(func(tx store.Tx) error {
		if err := tx.Put("b", []byte("keep"), []byte("changed")); err != nil {
			return err
		}
		if err := tx.Put("b", []byte("new"), []byte("x")); err != nil {
			return err
		}
		if err := tx.Delete("b", []byte("gone")); err != nil {
			return err
		}
		if err := tx.Put("fresh", []byte("k"), []byte("v")); err != nil {
			return err
		}
		if _, err := tx.NextSequence("b"); err != nil {
			return err
		}
		return fmt.Errorf("late failure: %w", errBoom)
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update returned %v, want the callback's error", err)
	}
	if got := dump(t, kv, "b", ""); !slices.Equal(got, []string{"gone=2", "keep=1"}) {
		t.Errorf("after rollback: %q", got)
	}
	if got := dump(t, kv, "fresh", ""); len(got) != 0 {
		t.Errorf("bucket of a rolled back tx: %q", got)
	}
	var seq uint64
	if err := kv.Update(func(tx store.Tx) (err error) { seq, err = tx.NextSequence("b"); return err }); err != nil || seq != 2 {
		t.Errorf("sequence after rollback = %d, %v; want 2", seq, err)
	}
}

func testReadYourWrites(t *testing.T, kv store.KV) {
	put(t, kv, "b", "a", "1", "c", "3", "e", "5")
	err := kv.Update(func(tx store.Tx) error {
		must := func(err error) {
			if err != nil {
				t.Fatal(err)
			}
		}
		must(tx.Put("b", []byte("b"), []byte("2")))
		must(tx.Put("b", []byte("c"), []byte("33")))
		must(tx.Delete("b", []byte("e")))
		must(tx.Put("b", []byte("f"), []byte("6")))
		must(tx.Delete("b", []byte("f")))
		if v := tx.Get("b", []byte("c")); string(v) != "33" {
			t.Errorf("Get after Put = %q", v)
		}
		if v := tx.Get("b", []byte("e")); v != nil {
			t.Errorf("Get after Delete = %q", v)
		}
		var got []string
		must(tx.ForEach("b", nil, func(k, v []byte) error {
			got = append(got, string(k)+"="+string(v))
			return nil
		}))
		if want := []string{"a=1", "b=2", "c=33"}; !slices.Equal(got, want) {
			t.Errorf("ForEach in the writing tx = %q, want %q", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := dump(t, kv, "b", ""); !slices.Equal(got, []string{"a=1", "b=2", "c=33"}) {
		t.Errorf("committed: %q", got)
	}
}

func testModifyDuringForEach(t *testing.T, kv store.KV) {
	var keys []string
	for i := 0; i < 300; i++ {
		k := fmt.Sprintf("k%03d", i)
		keys = append(keys, k)
		put(t, kv, "b", k, "old")
	}
	// Rewrite every value while walking.
	var visited []string
	err := kv.Update(func(tx store.Tx) error {
		return tx.ForEach("b", []byte("k"), func(k, v []byte) error {
			visited = append(visited, string(k))
			return tx.Put("b", k, []byte("new"))
		})
	})
	if err != nil || !slices.Equal(visited, keys) {
		t.Fatalf("rewrite walk: err %v, visited %d of %d keys", err, len(visited), len(keys))
	}
	// Delete the current key and the next one: the deleted one is not visited.
	visited = nil
	err = kv.Update(func(tx store.Tx) error {
		return tx.ForEach("b", nil, func(k, v []byte) error {
			if string(v) != "new" {
				return fmt.Errorf("%s has %q", k, v)
			}
			visited = append(visited, string(k))
			if err := tx.Delete("b", k); err != nil {
				return err
			}
			var n int
			fmt.Sscanf(string(k), "k%d", &n)
			return tx.Delete("b", []byte(fmt.Sprintf("k%03d", n+1)))
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := 0; i < len(keys); i += 2 {
		want = append(want, keys[i])
	}
	if !slices.Equal(visited, want) {
		t.Errorf("delete walk visited %q...; want every other key", visited[:min(4, len(visited))])
	}
	if got := dump(t, kv, "b", ""); len(got) != 0 {
		t.Errorf("left after deleting all: %d keys", len(got))
	}
}

func testNextSequence(t *testing.T, kv store.KV) {
	seq := func(bucket string) uint64 {
		t.Helper()
		var n uint64
		if err := kv.Update(func(tx store.Tx) (err error) { n, err = tx.NextSequence(bucket); return err }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	steps := []struct {
		bucket string
		want   uint64
	}{{"log", 1}, {"log", 2}, {"other", 1}, {"log", 3}, {"other", 2}}
	for i, s := range steps {
		if got := seq(s.bucket); got != s.want {
			t.Errorf("step %d: NextSequence(%q) = %d, want %d", i, s.bucket, got, s.want)
		}
	}
	// Several in one transaction, used as big-endian keys of an append-only log.
	err := kv.Update(func(tx store.Tx) error {
		for i := 0; i < 3; i++ {
			n, err := tx.NextSequence("log")
			if err != nil {
				return err
			}
			if err := tx.Put("log", binary.BigEndian.AppendUint64(nil, n), []byte("e")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	kv.View(func(tx store.Tx) error {
		return tx.ForEach("log", nil, func(k, _ []byte) error {
			got = append(got, binary.BigEndian.Uint64(k))
			return nil
		})
	})
	if !slices.Equal(got, []uint64{4, 5, 6}) {
		t.Errorf("log keys = %v", got)
	}
}

func testValuesCopied(t *testing.T, kv store.KV) {
	key, val := []byte("key"), []byte("value")
	var kept []byte
	err := kv.Update(func(tx store.Tx) error {
		if err := tx.Put("b", key, val); err != nil {
			return err
		}
		key[0], val[0] = 'X', 'X' // the caller reuses its buffers
		if v := tx.Get("b", []byte("key")); string(v) != "value" {
			return fmt.Errorf("in tx after reusing the buffers: %q", v)
		}
		kept = bytes.Clone(tx.Get("b", []byte("key")))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := get(t, kv, "b", "key"); v != "value" {
		t.Errorf("committed %q", v)
	}
	if got := dump(t, kv, "b", ""); !slices.Equal(got, []string{"key=value"}) {
		t.Errorf("keys %q", got)
	}
	put(t, kv, "b", "key", "changed")
	if string(kept) != "value" {
		t.Errorf("a copy taken in a tx changed to %q", kept)
	}
}

func testPanicRollsBack(t *testing.T, kv store.KV) {
	for name, write := range map[string]func(func(store.Tx) error) error{"Update": kv.Update, "Batch": kv.Batch} {
		func() {
			defer func() {
				if p := recover(); p != errBoom {
					t.Errorf("%s: recovered %v, want the callback's panic", name, p)
				}
			}()
			write(func(tx store.Tx) error {
				tx.Put("b", []byte("k"), []byte("v"))
				panic(errBoom)
			})
		}()
		if _, ok := get(t, kv, "b", "k"); ok {
			t.Errorf("a panicking %s committed", name)
		}
	}
	put(t, kv, "b", "after", "ok") // the store is still usable
	if v, _ := get(t, kv, "b", "after"); v != "ok" {
		t.Errorf("after a panic: %q", v)
	}
}

func testBatchConcurrent(t *testing.T, kv store.KV) {
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := 0; i < n; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- kv.Batch(func(tx store.Tx) error {
				// Read-modify-write of a shared counter: idempotent per try,
				// because a retried fn runs in a fresh transaction.
				var c uint64
				if v := tx.Get("b", []byte("counter")); v != nil {
					c = binary.BigEndian.Uint64(v)
				}
				if err := tx.Put("b", []byte("counter"), binary.BigEndian.AppendUint64(nil, c+1)); err != nil {
					return err
				}
				return tx.Put("b", []byte(fmt.Sprintf("w%02d", i)), []byte("done"))
			})
		}()
		go func() {
			defer wg.Done()
			if i%5 == 0 { // one failing writer must not take the others down
				if err := kv.Batch(func(tx store.Tx) error {
					tx.Put("b", []byte("failed"), nil)
					return errBoom
				}); !errors.Is(err, errBoom) {
					errs <- fmt.Errorf("failing Batch returned %v", err)
				}
				return
			}
			errs <- kv.View(func(tx store.Tx) error {
				return tx.ForEach("b", []byte("w"), func(k, v []byte) error {
					if string(v) != "done" {
						return fmt.Errorf("%s=%q", k, v)
					}
					return nil
				})
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	var c uint64
	kv.View(func(tx store.Tx) error {
		if v := tx.Get("b", []byte("counter")); v != nil {
			c = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	if c != n {
		t.Errorf("counter = %d, want %d", c, n)
	}
	if got := dump(t, kv, "b", "w"); len(got) != n {
		t.Errorf("%d writers recorded, want %d", len(got), n)
	}
	if _, ok := get(t, kv, "b", "failed"); ok {
		t.Error("a failing Batch committed")
	}
}

// testConsistentSnapshot checks that a reader never sees half of a
// transaction: the writer keeps a == b in every commit.
func testConsistentSnapshot(t *testing.T, kv store.KV) {
	put(t, kv, "b", "a", "0", "b", "0")
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; i <= 100; i++ {
			v := []byte(fmt.Sprint(i))
			if err := kv.Update(func(tx store.Tx) error {
				if err := tx.Put("b", []byte("a"), v); err != nil {
					return err
				}
				return tx.Put("b", []byte("b"), v)
			}); err != nil {
				t.Error(err)
				break
			}
		}
		close(done)
	}()
	for stop := false; !stop; {
		select {
		case <-done:
			stop = true
		default:
		}
		err := kv.View(func(tx store.Tx) error {
			a := string(tx.Get("b", []byte("a")))
			var walked []string
			tx.ForEach("b", nil, func(_, v []byte) error {
				walked = append(walked, string(v))
				return nil
			})
			b := string(tx.Get("b", []byte("b")))
			if a != b || len(walked) != 2 || walked[0] != a || walked[1] != a {
				return fmt.Errorf("torn read: a=%s b=%s walk=%q", a, b, walked)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}

func testClose(t *testing.T, kv store.KV) {
	put(t, kv, "b", "k", "v")
	if err := kv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_ = kv.Close() // a second Close must not panic
	if err := kv.View(func(store.Tx) error { return nil }); err == nil {
		t.Error("View after Close: no error")
	}
	if err := kv.Update(func(store.Tx) error { return nil }); err == nil {
		t.Error("Update after Close: no error")
	}
	if err := kv.Batch(func(store.Tx) error { return nil }); err == nil {
		t.Error("Batch after Close: no error")
	}
}
