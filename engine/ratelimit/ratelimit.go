// Package ratelimit bounds how often one key (a client address, a user)
// may do something, with token buckets held in memory. Every front end
// uses it the same way: the journey API per client IP and per user, the
// OAuth login pages and token endpoint, the push endpoints.
//
// It lives under engine so that every front end can import it (protocols
// may import engine packages, not each other). Memory is bounded: buckets
// that have refilled are forgotten, and past MaxKeys new keys share one
// overflow bucket rather than growing the table, so a flood from many
// addresses degrades to one shared limit instead of an outage.
package ratelimit

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rate is Events per Per, with bursts of up to Events at once. The zero
// Rate is "no limit".
type Rate struct {
	Events int
	Per    time.Duration
}

// Unlimited reports whether r limits nothing.
func (r Rate) Unlimited() bool { return r.Events <= 0 || r.Per <= 0 }

// String is the form ParseRate reads: "20/10s", "5/1m"; "0" when unlimited.
func (r Rate) String() string {
	if r.Unlimited() {
		return "0"
	}
	return strconv.Itoa(r.Events) + "/" + shortDuration(r.Per)
}

func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// ParseRate reads "N/DURATION" ("20/10s", "10/1m"; "N/s" means "N/1s")
// or "0" / "off" for no limit.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "0" || s == "off" || s == "" {
		return Rate{}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("rate %q: want N/DURATION such as 20/10s, or 0 for no limit", s)
	}
	events, err := strconv.Atoi(n)
	if err != nil || events < 0 {
		return Rate{}, fmt.Errorf("rate %q: %q is not a count", s, n)
	}
	if per != "" && (per[0] < '0' || per[0] > '9') {
		per = "1" + per
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return Rate{}, fmt.Errorf("rate %q: %q is not a duration", s, per)
	}
	return Rate{Events: events, Per: d}, nil
}

// DefaultMaxKeys bounds the keys a Limiter tracks.
const DefaultMaxKeys = 100_000

const shards = 32

// Limiter is a set of token buckets by key. The zero value is not usable;
// call New. A nil *Limiter allows everything, so callers need no checks.
type Limiter struct {
	rate    Rate
	maxKeys int
	seed    maphash.Seed
	shard   [shards]shard
}

type shard struct {
	mu       sync.Mutex
	buckets  map[string]*bucket
	overflow bucket
	lastGC   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// New returns a limiter for r, or nil when r is unlimited.
func New(r Rate) *Limiter {
	if r.Unlimited() {
		return nil
	}
	l := &Limiter{rate: r, maxKeys: DefaultMaxKeys, seed: maphash.MakeSeed()}
	for i := range l.shard {
		l.shard[i].buckets = map[string]*bucket{}
	}
	return l
}

// Rate returns the limiter's rate.
func (l *Limiter) Rate() Rate {
	if l == nil {
		return Rate{}
	}
	return l.rate
}

// Allow takes one token for key at now. When none is left it reports how
// long until one is (for Retry-After).
func (l *Limiter) Allow(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	sh := &l.shard[maphash.String(l.seed, key)%shards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	perToken := l.rate.Per.Seconds() / float64(l.rate.Events)
	burst := float64(l.rate.Events)
	if now.Sub(sh.lastGC) > l.rate.Per {
		sh.gc(now, perToken, burst)
	}
	b := sh.buckets[key]
	if b == nil {
		if len(sh.buckets) >= l.maxKeys/shards {
			b = &sh.overflow
		} else {
			b = &bucket{tokens: burst, at: now}
			sh.buckets[key] = b
		}
	}
	if el := now.Sub(b.at).Seconds(); el > 0 {
		b.tokens = math.Min(burst, b.tokens+el/perToken)
		b.at = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) * perToken * float64(time.Second))
	return false, max(wait, time.Millisecond)
}

// gc forgets buckets that have refilled: they behave exactly like a new
// one, so nothing is lost.
func (sh *shard) gc(now time.Time, perToken, burst float64) {
	sh.lastGC = now
	for k, b := range sh.buckets {
		if b.tokens+now.Sub(b.at).Seconds()/perToken >= burst {
			delete(sh.buckets, k)
		}
	}
}

// Keys returns how many keys are tracked (for tests).
func (l *Limiter) Keys() int {
	if l == nil {
		return 0
	}
	n := 0
	for i := range l.shard {
		l.shard[i].mu.Lock()
		n += len(l.shard[i].buckets)
		l.shard[i].mu.Unlock()
	}
	return n
}

// IPKey is the key for a client address: the address itself for IPv4,
// its /64 for IPv6 (one host usually holds a whole /64, and rotating
// through it must not buy fresh buckets).
func IPKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		if ap, err2 := netip.ParseAddrPort(addr); err2 == nil {
			a = ap.Addr()
		} else {
			return addr
		}
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// RetryAfterSeconds is d rounded up to whole seconds (at least 1), for
// the Retry-After header.
func RetryAfterSeconds(d time.Duration) string {
	s := int64(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}

// ErrLimited is returned by front ends that report a refusal as an error.
var ErrLimited = errors.New("rate limited")
