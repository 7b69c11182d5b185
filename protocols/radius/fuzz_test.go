package radius

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"layeh.com/radius"

	"github.com/authd/authd/engine"
)

// panicLog counts the panics the handler's guard recovered, which the
// fuzzer must treat as crashes.
type panicLog struct {
	slog.Handler
	n    atomic.Int64
	last atomic.Value
}

func (h *panicLog) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		var b strings.Builder
		r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, "%s=%v\n", a.Key, a.Value); return true })
		h.last.Store(b.String())
		h.n.Add(1)
	}
	return nil
}

var panics = &panicLog{Handler: slog.NewTextHandler(io.Discard, nil)}

// FuzzHandlePacket feeds raw datagrams to the handler, on the
// authentication and the accounting side, from a client that may omit
// Message-Authenticator (so mutated packets reach the journey code). The
// handler must never panic and never answer with an invalid packet.
func FuzzHandlePacket(f *testing.F) {
	p := newPusher()
	p.configure(0, 1)
	eng := engine.New(engine.Options{KV: newMemKV()})
	eng.Load(testProgram(p))
	cfg := baseConfig(f)
	cfg.Clients[0].AllowMissingMessageAuthenticator = true
	srv, err := New(cfg, Options{
		Engine: eng,
		Log:    slog.New(panics),
		Limits: Limits{MaxHold: 20 * time.Millisecond},
	})
	if err != nil {
		f.Fatal(err)
	}
	close(srv.done) // holds end at once: a fuzz input must not wait

	seeds := []*radius.Packet{
		accessRequest("alice", pw("secret")),
		accessRequest("alice", pw("secret"), nasID("mfa")),
		accessRequest("alice", nil, nasID("mfa"), withState(make([]byte, stateLen))),
		accessRequest("alice", pw("1"), nasID("pick"), withState([]byte("short"))),
		accessRequest("bob", pw("x,123456"), nasID("duo"), func(p *radius.Packet) { p.Add(attrProxyState, radius.Attribute("ps")) }),
		radius.New(radius.CodeStatusServer, []byte(testSecret)),
	}
	for i, s := range seeds {
		b := sign(f, s)
		f.Add(b, false)
		if i == 0 {
			unsigned, _ := accessRequest("alice", pw("secret")).Encode()
			f.Add(unsigned, false)
		}
	}
	acct := radius.New(radius.CodeAccountingRequest, []byte(testSecret))
	acct.Add(attrAcctStatusType, radius.NewInteger(2))
	acct.Add(attrUserName, radius.Attribute("alice"))
	if b, err := acct.Encode(); err == nil {
		f.Add(b, true)
	}
	f.Add([]byte{1, 0, 0, 20}, false)
	from := netip.MustParseAddrPort("127.0.0.1:40000")
	f.Fuzz(func(t *testing.T, b []byte, accounting bool) {
		w := &checkWriter{t: t}
		before := panics.n.Load()
		srv.handle(w, accounting, b, from, func() {})
		if panics.n.Load() != before {
			t.Fatalf("the handler panicked (recovered): %s", panics.last.Load())
		}
	})
}

// checkWriter checks that whatever the handler sends is a well-formed
// packet that starts with Message-Authenticator when it should.
type checkWriter struct{ t *testing.T }

func (w *checkWriter) WriteTo(b []byte, _ netip.AddrPort) error {
	p, err := radius.Parse(b, []byte(testSecret))
	if err != nil {
		w.t.Fatalf("sent a malformed reply: %v", err)
	}
	if p.Code != radius.CodeAccountingResponse && (len(p.Attributes) == 0 || p.Attributes[0].Type != attrMessageAuthenticator) {
		w.t.Fatalf("reply %v without Message-Authenticator first", p.Code)
	}
	return nil
}
