package ratelimit

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	for in, want := range map[string]Rate{
		"20/10s": {20, 10 * time.Second},
		"5/m":    {5, time.Minute},
		"5/1m":   {5, time.Minute},
		"100/s":  {100, time.Second},
		"0":      {},
		"off":    {},
	} {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"x", "5", "5/", "-1/s", "5/-1s", "a/s"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
	if s := (Rate{5, time.Minute}).String(); s != "5/1m" {
		t.Errorf("String = %q", s)
	}
	if s := (Rate{20, 10 * time.Second}).String(); s != "20/10s" {
		t.Errorf("String = %q", s)
	}
}

func TestAllowRefillsAndSaysWhen(t *testing.T) {
	l := New(Rate{Events: 3, Per: 3 * time.Second})
	now := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow("a", now); !ok {
			t.Fatalf("burst refused at %d", i)
		}
	}
	ok, wait := l.Allow("a", now)
	if ok || wait != time.Second {
		t.Fatalf("4th: %v %v", ok, wait)
	}
	if ok, _ := l.Allow("b", now); !ok {
		t.Fatal("another key shares the bucket")
	}
	if ok, _ := l.Allow("a", now.Add(time.Second)); !ok {
		t.Fatal("no refill after a second")
	}
	if ok, _ := l.Allow("a", now.Add(time.Second)); ok {
		t.Fatal("refilled more than one token")
	}
	if got := RetryAfterSeconds(1500 * time.Millisecond); got != "2" {
		t.Fatal(got)
	}
	var nl *Limiter
	if ok, _ := nl.Allow("x", now); !ok || New(Rate{}) != nil {
		t.Fatal("nil limiter limits")
	}
}

func TestMemoryIsBounded(t *testing.T) {
	l := New(Rate{Events: 1, Per: time.Minute})
	l.maxKeys = 64
	now := time.Unix(1000, 0)
	for i := 0; i < 1000; i++ {
		l.Allow(fmt.Sprint("k", i), now)
	}
	if n := l.Keys(); n > 64 {
		t.Fatalf("%d keys tracked", n)
	}
	// Once the buckets refill they are forgotten: the next Allow of a
	// shard sweeps it.
	if ok, _ := l.Allow("k0", now.Add(2*time.Minute)); !ok {
		t.Fatal("not refilled")
	}
	for i := range l.shard {
		l.shard[i].gc(now.Add(2*time.Minute), 60, 1)
	}
	if n := l.Keys(); n > 1 {
		t.Fatalf("%d keys after refill", n)
	}
}

func TestIPKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":            "192.0.2.1",
		"::ffff:192.0.2.1":     "192.0.2.1",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"[2001:db8::1]:443":    "2001:db8::/64",
		"not an address":       "not an address",
	} {
		if got := IPKey(in); got != want {
			t.Errorf("IPKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMiddleware(t *testing.T) {
	l := New(Rate{Events: 2, Per: time.Hour})
	h := l.Middleware("test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	var mu sync.Mutex
	codes := map[int]int{}
	for i := 0; i < 4; i++ {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "192.0.2.9:5555"
		h.ServeHTTP(rec, r)
		mu.Lock()
		codes[rec.Code]++
		mu.Unlock()
		if rec.Code == 429 && rec.Header().Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
	if codes[204] != 2 || codes[429] != 2 {
		t.Fatalf("%v", codes)
	}
}
