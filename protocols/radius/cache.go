package radius

import (
	"hash/maphash"
	"net/netip"
	"sync"
	"time"
)

// cacheKey identifies a request as RFC 5080 (2.2.2) says: the client's
// address and port, the identifier and the Request Authenticator. Keying
// on the authenticator too (layeh's PacketServer does not) keeps a client
// that reuses an identifier for a new request from getting the old answer.
type cacheKey struct {
	addr netip.AddrPort
	id   byte
	auth [16]byte
}

type cacheEntry struct {
	done    bool
	reply   []byte
	expires time.Time
}

// replyCache joins retransmissions to the request being processed (or
// held) and replays the reply bytes to those that arrive after it was
// sent, so one request never runs two journeys or sends two pushes.
type replyCache struct {
	seed   maphash.Seed
	ttl    time.Duration
	shards [64]cacheShard
}

type cacheShard struct {
	mu sync.Mutex
	m  map[cacheKey]*cacheEntry
}

func newReplyCache(ttl time.Duration) *replyCache {
	c := &replyCache{seed: maphash.MakeSeed(), ttl: ttl}
	for i := range c.shards {
		c.shards[i].m = map[cacheKey]*cacheEntry{}
	}
	return c
}

func (c *replyCache) shard(k cacheKey) *cacheShard {
	return &c.shards[maphash.Comparable(c.seed, k)%uint64(len(c.shards))]
}

// begin registers k as being processed. dup reports a retransmission:
// reply is then the cached answer to resend, or nil while the first copy
// is still being processed (the retransmission is dropped; the answer
// goes to the same address and identifier).
func (c *replyCache) begin(k cacheKey, now time.Time) (reply []byte, dup bool) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[k]; ok && (!e.done || now.Before(e.expires)) {
		return e.reply, true
	}
	s.m[k] = &cacheEntry{}
	return nil, false
}

// finish records the reply sent for k; nil (the request was dropped)
// forgets k so a retransmission is processed afresh.
func (c *replyCache) finish(k cacheKey, reply []byte, now time.Time) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if reply == nil {
		delete(s.m, k)
		return
	}
	s.m[k] = &cacheEntry{done: true, reply: reply, expires: now.Add(c.ttl)}
}

func (c *replyCache) sweep(now time.Time) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for k, e := range s.m {
			if e.done && !now.Before(e.expires) {
				delete(s.m, k)
			}
		}
		s.mu.Unlock()
	}
}
