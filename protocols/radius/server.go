package radius

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/audit"
)

// ErrServerClosed is returned by the Serve and ListenAndServe methods after
// Shutdown.
var ErrServerClosed = errors.New("radius: server closed")

// DefaultRejectMessage is the Reply-Message of every Access-Reject. It is
// the same whatever the reason, so a reply never tells a wrong password
// from an unknown user.
const DefaultRejectMessage = "Authentication failed"

// Options are the parts of a Server that do not come from the
// configuration file.
type Options struct {
	// Engine runs the journeys; required.
	Engine *engine.Engine
	// Log receives audit lines (Info), rate-limited drop notices (Warn) and
	// faults (Error); default slog.Default(). Secrets are never logged.
	Log    *slog.Logger
	Limits Limits
	// RejectMessage replaces DefaultRejectMessage.
	RejectMessage string
	// Audit receives dropped packets (aggregated: see dropaudit.go) and
	// the rejects no journey answered (no radius_policy matched, an
	// unknown State, CHAP or EAP); default the engine's audit logger (Engine.Services().Audit), which
	// is the store's audit log under authd run.
	Audit audit.Logger
}

// Server is the RADIUS front end. It is safe for concurrent use; Load
// swaps its configuration while it serves.
type Server struct {
	eng       *engine.Engine
	log       *slog.Logger
	drops     *rateLog
	dropAudit *dropAudit
	audit     audit.Logger
	lim       Limits
	rejectMsg string

	cfg    atomic.Pointer[compiled]
	states *stateTable
	cache  *replyCache
	holds  holdCounter
	sem    chan struct{}
	jobs   chan job

	ctx    context.Context // engine calls; cancelled when Shutdown gives up waiting
	cancel context.CancelFunc
	done   chan struct{} // closed when Shutdown starts

	mu       sync.Mutex
	closing  bool
	conns    map[net.PacketConn]struct{}
	held     map[*heldRequest]struct{} // parked requests (held.go)
	loops    sync.WaitGroup
	handlers sync.WaitGroup
	janitor  sync.Once
}

// New returns a server for cfg. It listens only when Serve or
// ListenAndServe is called; `authd run` calls
//
//	srv, err := radius.New(radius.FromDSL(cfg), radius.Options{Engine: eng, Log: log})
//	go srv.ListenAndServe()
//	...
//	srv.Shutdown(ctx)
func New(cfg *Config, o Options) (*Server, error) {
	if o.Engine == nil {
		return nil, errors.New("radius: Options.Engine is required")
	}
	c, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := loadDict(); err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.RejectMessage == "" {
		o.RejectMessage = DefaultRejectMessage
	}
	lim := o.Limits.withDefaults()
	if o.Audit == nil {
		o.Audit = o.Engine.Services().Audit
	}
	s := &Server{
		eng: o.Engine, log: o.Log, drops: newRateLog(o.Log), lim: lim, rejectMsg: o.RejectMessage,
		dropAudit: newDropAudit(o.Audit, lim), audit: o.Audit,
		states: newStateTable(lim.MaxChallenges),
		cache:  newReplyCache(lim.ReplyCacheTTL),
		holds:  holdCounter{byClient: map[string]int{}, byUser: map[string]int{}},
		sem:    make(chan struct{}, lim.MaxInflight),
		jobs:   make(chan job),
		done:   make(chan struct{}),
		conns:  map[net.PacketConn]struct{}{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.cfg.Store(c)
	return s, nil
}

// Load replaces the clients and policies. Requests already running keep
// the configuration they started with; outstanding challenges survive as
// long as their policy does. The listen addresses are not changed.
func (s *Server) Load(cfg *Config) error {
	c, err := compile(cfg)
	if err != nil {
		return err
	}
	s.cfg.Store(c)
	return nil
}

// ListenAndServe listens on the configured authentication address (and
// the accounting address, when set) and serves until Shutdown, when it
// returns ErrServerClosed.
func (s *Server) ListenAndServe() error {
	cfg := s.cfg.Load().cfg
	if cfg.Listen == "" {
		return errors.New("radius: no listen address")
	}
	auth, err := net.ListenPacket("udp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("radius: %w", err)
	}
	errs := make(chan error, 2)
	n := 1
	go func() { errs <- s.Serve(auth) }()
	if cfg.AccountingListen != "" {
		acct, err := net.ListenPacket("udp", cfg.AccountingListen)
		if err != nil {
			// Stop the authentication listener too, so the caller sees
			// one clear failure rather than a half-started server.
			s.untrackClose(auth)
			<-errs
			return fmt.Errorf("radius accounting: %w", err)
		}
		n++
		go func() { errs <- s.ServeAccounting(acct) }()
	}
	var first error
	for i := 0; i < n; i++ {
		if err := <-errs; first == nil || errors.Is(first, ErrServerClosed) {
			first = err
		}
	}
	return first
}

// Serve answers Access-Request and Status-Server packets arriving on conn
// until Shutdown, which closes conn.
func (s *Server) Serve(conn net.PacketConn) error { return s.serve(conn, false) }

// ServeAccounting answers Accounting-Request and Status-Server packets
// arriving on conn until Shutdown, which closes conn.
func (s *Server) ServeAccounting(conn net.PacketConn) error { return s.serve(conn, true) }

func (s *Server) track(conn net.PacketConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[conn] = struct{}{}
	s.loops.Add(1)
	return true
}

func (s *Server) untrackClose(conn net.PacketConn) {
	s.mu.Lock()
	delete(s.conns, conn)
	s.mu.Unlock()
	conn.SetReadDeadline(time.Now())
	conn.Close()
}

func (s *Server) isClosing() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *Server) serve(conn net.PacketConn, acct bool) error {
	if !s.track(conn) {
		conn.Close()
		return ErrServerClosed
	}
	defer s.loops.Done()
	s.janitor.Do(func() {
		go s.sweepLoop()
		go s.flushLoop()
		for i := 0; i < workers(); i++ {
			go s.worker()
		}
	})
	udp, _ := conn.(*net.UDPConn)
	pw := &packetWriter{conn: conn, udp: udp}
	buf := make([]byte, maxPacket+1) // one byte more, to see oversize packets
	for {
		var (
			n    int
			from netip.AddrPort
			err  error
		)
		if udp != nil {
			n, from, err = udp.ReadFromUDPAddrPort(buf)
		} else {
			var addr net.Addr
			n, addr, err = conn.ReadFrom(buf)
			if err == nil {
				from = addrPort(addr)
			}
		}
		if err != nil {
			if s.isClosing() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			s.drops.warn("read error", "err", err)
			time.Sleep(10 * time.Millisecond) // a persistent error must not spin
			continue
		}
		if n > maxPacket {
			s.drop(dropOversize, from.Addr(), "", "packet longer than 4096 bytes")
			continue
		}
		if !from.IsValid() {
			continue
		}
		select {
		case s.sem <- struct{}{}:
		default:
			s.drop(dropOverloaded, from.Addr(), "", "overloaded: too many requests in progress")
			continue
		}
		s.dispatch(job{w: pw, acct: acct, pkt: append([]byte(nil), buf[:n]...), from: from})
	}
}

// job is one datagram to answer.
type job struct {
	w    writer
	acct bool
	pkt  []byte
	from netip.AddrPort
}

// dispatch hands a datagram to an idle worker, or to a new goroutine when
// none is idle (a slot of s.sem is already taken, which bounds them).
// Long-lived workers keep their grown stacks, which a goroutine per packet
// would grow again every time.
func (s *Server) dispatch(j job) {
	s.handlers.Add(1)
	select {
	case s.jobs <- j:
	default:
		go s.run(j)
	}
}

func (s *Server) worker() {
	for {
		select {
		case j := <-s.jobs:
			s.run(j)
		case <-s.done:
			return
		}
	}
}

func (s *Server) run(j job) {
	defer s.handlers.Done()
	released := false
	release := func() {
		if !released {
			released = true
			<-s.sem
		}
	}
	defer release()
	s.handle(j.w, j.acct, j.pkt, j.from, release)
}

// workers is how many long-lived handler goroutines a server keeps.
func workers() int { return max(64, 16*runtime.GOMAXPROCS(0)) }

func addrPort(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.AddrPort()
	case interface{ AddrPort() netip.AddrPort }:
		return a.AddrPort()
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap
	}
	return netip.AddrPort{}
}

// writer sends a reply; tests and the fuzzer substitute their own.
type writer interface {
	WriteTo(b []byte, to netip.AddrPort) error
}

type packetWriter struct {
	conn net.PacketConn
	udp  *net.UDPConn
}

func (w *packetWriter) WriteTo(b []byte, to netip.AddrPort) error {
	if w.udp != nil {
		_, err := w.udp.WriteToUDPAddrPort(b, to)
		return err
	}
	_, err := w.conn.WriteTo(b, net.UDPAddrFromAddrPort(to))
	return err
}

func (s *Server) sweepLoop() {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case now := <-t.C:
			s.cache.sweep(now)
			s.states.sweep(now)
		}
	}
}

// Shutdown stops reading, answers every held request with Access-Reject,
// waits for requests in progress to finish (until ctx ends, when their
// journeys are cancelled) and closes the connections.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	close(s.done)
	conns := make([]net.PacketConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.SetReadDeadline(time.Now()) // wakes the receive loop
	}
	s.loops.Wait()
	s.releaseHeld()
	finished := make(chan struct{})
	go func() { s.handlers.Wait(); close(finished) }()
	var err error
	select {
	case <-finished:
	case <-ctx.Done():
		err = ctx.Err()
		s.cancel()
		<-finished
	}
	s.cancel()
	for _, c := range conns {
		c.Close()
	}
	s.dropAudit.flush(time.Now(), true) // no count is lost
	return err
}

// holdCounter enforces the caps on held requests.
type holdCounter struct {
	mu       sync.Mutex
	total    int
	byClient map[string]int
	byUser   map[string]int
}

func (h *holdCounter) acquire(client, user string, lim Limits) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.total >= lim.MaxHeld || h.byClient[client] >= lim.MaxHeldPerClient || h.byUser[user] >= lim.MaxHeldPerUser {
		return false
	}
	h.total++
	h.byClient[client]++
	h.byUser[user]++
	return true
}

func (h *holdCounter) release(client, user string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.total--
	if h.byClient[client]--; h.byClient[client] <= 0 {
		delete(h.byClient, client)
	}
	if h.byUser[user]--; h.byUser[user] <= 0 {
		delete(h.byUser, user)
	}
}

// Held reports how many requests are held now, for metrics and tests.
func (s *Server) Held() int {
	s.holds.mu.Lock()
	defer s.holds.mu.Unlock()
	return s.holds.total
}
