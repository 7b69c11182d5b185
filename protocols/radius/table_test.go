package radius

import (
	"net/netip"
	"testing"
	"time"

	"layeh.com/radius"
)

func TestReplyCache(t *testing.T) {
	c := newReplyCache(30 * time.Second)
	now := time.Now()
	k := cacheKey{addr: netip.MustParseAddrPort("192.0.2.1:1645"), id: 7, auth: [16]byte{1}}
	if _, dup := c.begin(k, now); dup {
		t.Fatal("a new request counted as a duplicate")
	}
	if r, dup := c.begin(k, now); !dup || r != nil {
		t.Fatal("a retransmission during processing must be dropped (dup, no reply)")
	}
	other := k
	other.auth[0] = 2
	if _, dup := c.begin(other, now); dup {
		t.Fatal("another authenticator is another request")
	}
	c.finish(k, []byte("reply"), now)
	if r, dup := c.begin(k, now.Add(29*time.Second)); !dup || string(r) != "reply" {
		t.Fatal("the reply is not replayed within its TTL")
	}
	c.sweep(now.Add(31 * time.Second))
	if _, dup := c.begin(k, now.Add(31*time.Second)); dup {
		t.Fatal("the reply outlived its TTL")
	}
	c.finish(other, nil, now) // dropped: forget, so a retransmission is processed again
	if _, dup := c.begin(other, now); dup {
		t.Fatal("a dropped request's retransmission must be processed")
	}
}

func TestStateTable(t *testing.T) {
	tb := newStateTable(2)
	now := time.Now()
	s1, err := tb.issue(&challenge{session: "s1", client: "c", user: "alice", expires: now.Add(time.Minute)})
	if err != nil || len(s1) != stateLen {
		t.Fatal(err)
	}
	s2, _ := tb.issue(&challenge{session: "s2", client: "c", user: "bob", expires: now.Add(time.Second)})
	if _, err := tb.issue(&challenge{expires: now.Add(time.Minute)}); err != errTooManyChallenges {
		t.Fatalf("over the cap: %v", err)
	}
	if tb.take(s1, "other-client", "alice", now) != nil || tb.take(s1, "c", "bob", now) != nil {
		t.Fatal("a State worked for another client or user")
	}
	if c := tb.take(s1, "c", "alice", now); c == nil || c.session != "s1" {
		t.Fatal("the right client and user could not use the State")
	}
	if tb.take(s1, "c", "alice", now) != nil {
		t.Fatal("a State worked twice")
	}
	if tb.take(s2, "c", "bob", now.Add(2*time.Second)) != nil {
		t.Fatal("an expired State worked")
	}
	tb.sweep(now.Add(time.Hour))
	if tb.len() != 0 {
		t.Fatalf("%d States left after the sweep", tb.len())
	}
}

func TestLoadSwapsClients(t *testing.T) {
	e := newEnv(t, nil)
	if r := e.exchange(accessRequest("alice", pw("secret"))); r.Code != radius.CodeAccessAccept {
		t.Fatalf("got %v", r.Code)
	}
	cfg := baseConfig(t)
	cfg.Clients[0].Secret = []byte("rotated")
	if err := e.srv.Load(cfg); err != nil {
		t.Fatal(err)
	}
	if e.raw(sign(t, accessRequest("alice", pw("secret"))), 300*time.Millisecond) != nil {
		t.Fatal("the old secret still works after a reload")
	}
	p := accessRequest("alice", pw("secret"))
	p.Secret = []byte("rotated")
	pwAttr, _ := radius.NewUserPassword([]byte("secret"), p.Secret, p.Authenticator[:])
	p.Set(attrUserPassword, pwAttr)
	if r := e.exchange(p); r.Code != radius.CodeAccessAccept {
		t.Fatalf("new secret: got %v", r.Code)
	}
	if err := e.srv.Load(&Config{Clients: []Client{{Name: "x"}}}); err == nil {
		t.Fatal("Load accepted a client without address or secret")
	}
}
