package scenario

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/authd/authd/engine"
	rad "github.com/authd/authd/protocols/radius"
)

// radiusSecret replaces every client's shared secret in a run: the real
// ones come from env() or files CI does not have, and the scenario signs
// its own packets.
var radiusSecret = []byte("authd-test-shared-secret")

// radiusReplyTimeout bounds one exchange in wall-clock time. A reply is
// normally immediate; the bound only turns a front-end bug into a failed
// scenario instead of a hung run.
const radiusReplyTimeout = 10 * time.Second

// radiusConfig is the RADIUS front end's configuration for runs: the
// configuration's clients and policies with the test secret.
func radiusConfig(c *rad.Config) *rad.Config {
	out := *c
	out.Clients = append([]rad.Client(nil), c.Clients...)
	for i := range out.Clients {
		out.Clients[i].Secret = radiusSecret
	}
	return &out
}

// runRADIUS drives the real RADIUS server (protocols/radius) over an
// in-memory packet connection: every step is one Access-Request, signed
// with Message-Authenticator as a FortiGate sends it, and every
// Access-Challenge's State goes back in the next one.
//
// The server holds a request while a journey waits for a push; the
// simulated phones answer when the push arrives, so a held request
// resumes at once. A push the phone ignores would hold the request in
// wall-clock time, so runs use a hold limit of a nanosecond: the request
// is re-checked once and rejected, which is what the NAS sees when it
// gives up. Push expiry paths are tested over the api front end, where
// advance moves the clock.
func (r *run) runRADIUS(ctx context.Context) error {
	sc := r.sc
	cl := r.radiusClient()
	if cl == nil {
		return errors.New("the configuration has no such radius_client")
	}
	srv, err := rad.New(r.radiusCfg, rad.Options{
		Engine: r.eng,
		Log:    r.log,
		Limits: rad.Limits{MaxHold: time.Nanosecond},
	})
	if err != nil {
		return err
	}
	conn := newMemConn()
	go srv.Serve(conn)
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	from := netip.AddrPortFrom(hostIn(cl.Network), 40000)
	r.req = engine.Request{Protocol: engine.FrontendRADIUS, ClientIP: from.Addr().String(), RADIUS: &engine.RADIUSInfo{
		NASIdentifier: sc.NASIdentifier, NASIP: from.Addr().String(), CallingStationID: sc.CallingStationID,
	}}
	if r.req.RADIUS.CallingStationID == "" && sc.ClientIP != "" {
		r.req.RADIUS.CallingStationID = sc.ClientIP
	}
	if ip, err := netip.ParseAddr(r.req.RADIUS.CallingStationID); err == nil {
		r.req.ClientIP = ip.String()
	}

	var (
		state    []byte
		userName string
	)
	for _, st := range sc.Steps {
		if st.Index > 1 {
			if r.done {
				r.failStep(st, "the journey already ended (%s) before this step", r.outcome)
				return nil
			}
			r.checkView(st)
		}
		r.prepare(st)
		ans, ok := r.answers(st, nil)
		if !ok {
			return nil
		}
		if v, ok := ans["username"]; ok {
			userName = v
			delete(ans, "username")
		}
		if userName == "" {
			r.failStep(st, "a RADIUS request needs a User-Name: answer username = \"...\" in the first step")
			return nil
		}
		pass, hasPass := ans["password"]
		delete(ans, "password")
		if !hasPass && len(ans) == 1 {
			for _, v := range ans {
				pass, hasPass = v, true
			}
		} else if len(ans) > 0 {
			r.failStep(st, "a RADIUS request carries one answer (the User-Password); this step gives %s", keyList(ans))
			return nil
		}
		pkt := radius.New(radius.CodeAccessRequest, radiusSecret)
		_ = rfc2865.UserName_SetString(pkt, userName)
		if hasPass && pass != "" {
			if err := rfc2865.UserPassword_SetString(pkt, pass); err != nil {
				r.failStep(st, "the answer cannot be sent as a User-Password: %v", err)
				return nil
			}
		}
		if sc.NASIdentifier != "" {
			_ = rfc2865.NASIdentifier_SetString(pkt, sc.NASIdentifier)
		}
		if cs := r.req.RADIUS.CallingStationID; cs != "" {
			_ = rfc2865.CallingStationID_SetString(pkt, cs)
		}
		if state != nil {
			_ = rfc2865.State_Set(pkt, state)
		}
		raw, err := rad.SignRequest(pkt)
		if err != nil {
			return err
		}
		reply, err := conn.exchange(ctx, raw, from)
		if err != nil {
			return err
		}
		p, err := radius.Parse(reply, radiusSecret)
		if err != nil {
			return fmt.Errorf("the reply does not parse: %w", err)
		}
		msgs, _ := rfc2865.ReplyMessage_GetStrings(p)
		switch p.Code {
		case radius.CodeAccessAccept:
			r.finish(engine.Success)
		case radius.CodeAccessReject:
			r.finish(engine.Failure)
		case radius.CodeAccessChallenge:
			state = rfc2865.State_Get(p)
			_, node, cbs, _ := r.trace.snapshot()
			r.view = view{node: node, prompts: []string{strings.Join(msgs, "\n")}, callbacks: cbs}
		default:
			return fmt.Errorf("unexpected reply %v", p.Code)
		}
	}
	return nil
}

// finish records the end of a journey seen from outside the engine.
func (r *run) finish(o engine.Outcome) {
	r.done, r.outcome = true, string(o)
	if _, _, _, s := r.trace.snapshot(); s != nil {
		r.user, r.reason = s.User, s.Reason
	}
}

// radiusClient is the client the scenario's packets come from: the one it
// names, or the configuration's only one.
func (r *run) radiusClient() *rad.Client {
	for i := range r.radiusCfg.Clients {
		c := &r.radiusCfg.Clients[i]
		if c.Name == r.sc.RADIUSClient || r.sc.RADIUSClient == "" && len(r.radiusCfg.Clients) == 1 {
			return c
		}
	}
	return nil
}

// hostIn is an address inside a client's network to send from.
func hostIn(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr()
	if p.Bits() < a.BitLen()-1 {
		a = a.Next()
	}
	return a
}

func keyList(m map[string]string) string {
	ks := sortedKeys(m)
	return strings.Join(ks, ", ")
}

// memConn is a net.PacketConn in memory: the scenario writes requests into
// it and reads the server's replies, with no socket and no port.
type memConn struct {
	in      chan packet
	out     chan []byte
	closed  chan struct{}
	once    sync.Once
	mu      sync.Mutex
	timeout chan struct{} // closed by a read deadline in the past
}

type packet struct {
	b    []byte
	from net.Addr
}

func newMemConn() *memConn {
	return &memConn{in: make(chan packet), out: make(chan []byte, 16), closed: make(chan struct{}), timeout: make(chan struct{})}
}

// exchange sends one request and waits for its reply.
func (c *memConn) exchange(ctx context.Context, b []byte, from netip.AddrPort) ([]byte, error) {
	t := time.NewTimer(radiusReplyTimeout)
	defer t.Stop()
	select {
	case c.in <- packet{b: b, from: net.UDPAddrFromAddrPort(from)}:
	case <-t.C:
		return nil, errors.New("the RADIUS server did not read the request")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-c.out:
		return r, nil
	case <-t.C:
		return nil, fmt.Errorf("no RADIUS reply within %s (the request was dropped or held)", radiusReplyTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *memConn) ReadFrom(b []byte) (int, net.Addr, error) {
	c.mu.Lock()
	timeout := c.timeout
	c.mu.Unlock()
	select {
	case p := <-c.in:
		return copy(b, p.b), p.from, nil
	case <-timeout:
		return 0, nil, os.ErrDeadlineExceeded
	case <-c.closed:
		return 0, nil, net.ErrClosed
	}
}

func (c *memConn) WriteTo(b []byte, _ net.Addr) (int, error) {
	select {
	case c.out <- append([]byte(nil), b...):
		return len(b), nil
	case <-c.closed:
		return 0, net.ErrClosed
	}
}

func (c *memConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *memConn) LocalAddr() net.Addr { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1812} }

func (c *memConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

// SetReadDeadline supports what the server uses it for: a deadline now or
// in the past wakes a blocked read (shutdown).
func (c *memConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !t.IsZero() && !t.After(time.Now()) {
		select {
		case <-c.timeout:
		default:
			close(c.timeout)
		}
	} else {
		select {
		case <-c.timeout:
			c.timeout = make(chan struct{})
		default:
		}
	}
	return nil
}

func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

var _ net.PacketConn = (*memConn)(nil)
