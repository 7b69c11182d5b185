package radius

import (
	"net"
	"runtime"
	"testing"
	"time"

	"layeh.com/radius"
)

// TestHeldRequestsKeepNoGoroutine: a held Access-Request is parked, not a
// goroutine blocked on the wait (which kept the stack its journey grew,
// about 16 KB, for as long as the user took), so holding more requests
// than the server has workers adds no goroutines; every one is still
// answered when its push is.
func TestHeldRequestsKeepNoGoroutine(t *testing.T) {
	n := workers() + 100
	e := newEnv(t, func(_ *Config, o *Options) { o.Limits.MaxHeldPerUser = n })
	e.pusher.mu.Lock()
	e.pusher.waiting = make(chan string, n)
	e.pusher.mu.Unlock()
	conn, err := net.Dial("udp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Let the server's long-lived workers start before counting.
	e.exchange(accessRequest("alice", pw("secret")))
	before := runtime.NumGoroutine()

	for i := 0; i < n; i++ {
		p := accessRequest("alice", pw("secret"), nasID("push"))
		p.Identifier = byte(i)
		if _, err := conn.Write(sign(t, p)); err != nil {
			t.Fatal(err)
		}
	}
	ids := make([]string, 0, n)
	for len(ids) < n {
		select {
		case id := <-e.pusher.waiting:
			ids = append(ids, id)
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d journeys started waiting", len(ids), n)
		}
	}
	e.waitHeld(n)
	if grown := runtime.NumGoroutine() - before; grown > n/4 {
		t.Errorf("%d requests held with %d more goroutines than before: holds keep a goroutine each", n, grown)
	}

	for _, id := range ids {
		e.pusher.set(id, "approve")
		e.eng.Wake(id)
	}
	buf := make([]byte, 4096)
	for i := 0; i < n; i++ {
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		k, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("reply %d of %d: %v", i+1, n, err)
		}
		if c := radius.Code(buf[0]); k < headerLen || c != radius.CodeAccessAccept {
			t.Fatalf("reply %d: %v, want Access-Accept", i+1, c)
		}
	}
	e.waitHeld(0)
}
