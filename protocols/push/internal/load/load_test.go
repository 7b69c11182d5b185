package load

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestEveryIndexOnce: both loops call f once for every index, and
// Parallel never runs more than its workers at once.
func TestEveryIndexOnce(t *testing.T) {
	const n, workers = 200, 3
	for _, tc := range []struct {
		name string
		run  func(f func(int))
	}{
		{"parallel", func(f func(int)) { Parallel(n, workers, f) }},
		{"open loop", func(f func(int)) { OpenLoop(n, 100000, f) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			seen := map[int]int{}
			var running, most atomic.Int32
			tc.run(func(i int) {
				r := running.Add(1)
				for m := most.Load(); r > m && !most.CompareAndSwap(m, r); m = most.Load() {
				}
				mu.Lock()
				seen[i]++
				mu.Unlock()
				running.Add(-1)
			})
			if len(seen) != n {
				t.Fatalf("%d indexes called, want %d", len(seen), n)
			}
			for i, c := range seen {
				if c != 1 {
					t.Errorf("index %d called %d times", i, c)
				}
			}
			if tc.name == "parallel" && most.Load() > workers {
				t.Errorf("%d ran at once, want at most %d", most.Load(), workers)
			}
		})
	}
}
