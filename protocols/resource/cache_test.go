package resource

import (
	"testing"
	"time"
)

// TestCacheBounded: a full cache drops expired entries first, then others,
// and never holds more than its bound; an expired entry is not returned.
func TestCacheBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newCache(3)
	info := &tokenInfo{subject: "x"}
	c.put(cacheKey("a"), info, now.Add(time.Second), now)
	c.put(cacheKey("b"), info, now.Add(time.Hour), now)
	c.put(cacheKey("c"), info, now.Add(time.Hour), now)
	later := now.Add(2 * time.Second)
	c.put(cacheKey("d"), info, later.Add(time.Hour), later) // a has expired: it goes
	for _, k := range []string{"b", "c", "d"} {
		if c.get(cacheKey(k), later) == nil {
			t.Errorf("%s was dropped; the expired a should have gone", k)
		}
	}
	for i := range 10 {
		c.put(cacheKey(string(rune('e'+i))), info, later.Add(time.Hour), later)
		if n := c.len(); n > 3 {
			t.Fatalf("cache holds %d entries, bound 3", n)
		}
	}
	if c.get(cacheKey("zz"), later) != nil {
		t.Error("an unknown key was found")
	}
	c.put(cacheKey("old"), info, later, later) // already expired: not kept
	if c.get(cacheKey("old"), later) != nil {
		t.Error("an expired answer was kept")
	}
	if got := c.get(cacheKey("m"), later.Add(2*time.Hour)); got != nil {
		t.Error("an entry past its time was returned")
	}
}
