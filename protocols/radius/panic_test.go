package radius

import (
	"net"
	"testing"
	"time"

	"layeh.com/radius"
)

// TestAPanicRejectsTheRequest: a bug met while answering an Access-Request
// (here the store panics) costs that request an Access-Reject, kept for
// its retransmissions, not the process, nor silence: with no answer the
// NAS would wait out its retries, its retransmissions would be taken for
// the request in progress, and it would mark the server dead. Held
// requests too, when the panic comes as their hold ends; their hold is
// let go, so the user may hold again.
func TestAPanicRejectsTheRequest(t *testing.T) {
	tests := []struct {
		name string
		held bool // the store fails once the request is held, not at once
	}{
		{"while handling", false},
		{"while continuing a held request", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(_ *Config, o *Options) { o.Limits.MaxHeldPerUser = 1 })
			request := func() *radius.Packet {
				if tt.held {
					return accessRequest("alice", pw("secret"), nasID("push"))
				}
				return accessRequest("alice", pw("secret"))
			}
			conn, err := net.Dial("udp", e.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			p := request()
			b := sign(t, p)
			read := func(what string) {
				t.Helper()
				buf := make([]byte, 4096)
				conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				n, err := conn.Read(buf)
				if err != nil {
					t.Fatalf("%s: no answer: %v", what, err)
				}
				r, err := radius.Parse(buf[:n], p.Secret)
				if err != nil {
					t.Fatal(err)
				}
				checkReply(t, r, p)
				if r.Code != radius.CodeAccessReject {
					t.Fatalf("%s: %v, want Access-Reject", what, r.Code)
				}
			}

			e.kv.faulty.Store(!tt.held)
			if _, err := conn.Write(b); err != nil {
				t.Fatal(err)
			}
			if tt.held {
				id := <-e.pusher.waiting
				e.waitHeld(1)
				e.kv.faulty.Store(true)
				e.eng.Wake(id)
			}
			read("the request")
			e.waitLog("radius: panic while")
			// The store is still broken: the retransmission is answered
			// from the reply cache.
			if _, err := conn.Write(b); err != nil {
				t.Fatal(err)
			}
			read("its retransmission")

			e.waitHeld(0)
			e.kv.faulty.Store(false)
			// Serving goes on, and the failed request's hold is let go.
			if tt.held {
				e.answerWhenWaiting("approve")
			}
			if r := e.exchange(request()); r.Code != radius.CodeAccessAccept {
				t.Fatalf("the next request: %v, want Access-Accept", r.Code)
			}
		})
	}
}
