package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/metrics"
	"github.com/authd/authd/engine/ratelimit"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/engine/users"
	_ "github.com/authd/authd/nodes" // registers the built-in node types
	"github.com/authd/authd/protocols/admin"
	"github.com/authd/authd/protocols/api"
	"github.com/authd/authd/protocols/federation"
	"github.com/authd/authd/protocols/oauth"
	"github.com/authd/authd/protocols/push"
	"github.com/authd/authd/protocols/radius"
	"github.com/authd/authd/protocols/resource"
)

// Serving limits. WriteTimeout leaves room for requests a front end holds
// while a journey waits (a push answer, a device's long poll);
// ReadHeaderTimeout and ReadTimeout cut clients that trickle their
// request in (slowloris), MaxHeaderBytes and maxRequestBytes bound what
// one request may make the server hold.
var (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 2 * time.Minute
	idleTimeout       = 2 * time.Minute
)

const (
	maxHeaderBytes  = 64 << 10
	maxRequestBytes = 1 << 20 // every HTTP body; the journey API allows far less
	shutdownTimeout = 15 * time.Second
	sweepInterval   = time.Minute
	auditSweepEvery = time.Hour
	runLockTimeout  = 500 * time.Millisecond
	watchInterval   = time.Second
)

// Defaults of the abuse limits (flags of authd run).
const (
	defaultIPRate   = "300/1m" // every HTTP request of one client address
	defaultUserRate = "10/1m"  // answers carrying a password or code, per user
)

// quickstartUser is the demo account the quick start creates.
const quickstartUser = "demo"

// runOptions are authd run's operational flags.
type runOptions struct {
	auditRetention time.Duration // 0: keep forever; used when auditRetentionSet
	// auditRetentionSet: -audit-retention was given and overrides
	// server.store.audit_retention (retention.go).
	auditRetentionSet bool
	ipRate            ratelimit.Rate
	userRate          ratelimit.Rate
	metrics           bool
}

func (c *cli) cmdRun(args []string) error {
	fs := c.flagSet("run", "authd run [-config DIR] [-data DIR] [-watch] [-listen ADDR] [-log-format text|json]", `
Serves the journey API (and the other front ends the configuration
declares) until SIGINT or SIGTERM, then drains requests, answers held
RADIUS requests and closes the store. SIGHUP, -watch and 'authd reload'
reload the configuration.

The configuration comes from -config DIR, else $AUTHD_CONFIG, else the
current directory when it holds *.hcl files. Every env() it names must be
set. With no configuration anywhere, authd serves the embedded quick start
(realm "demo", journey "login") and, on the first start with an empty
store, creates the user "demo" with a random password and prints it once.

The store (server.store.path, default authd.db) lives in -data DIR, else
$AUTHD_DATA, else ./data, created with mode 0700; one authd at a time holds
it. Admin commands (authd user ..., authd audit) reach the running server
through the admin socket DIR/admin.sock (mode 0600, same user or root only).

On server.http, besides the front ends: /healthz (the process answers),
/readyz (store open, listeners bound, configuration loaded; 503 while
shutting down) and /metrics (Prometheus; -metrics=false turns it off).

The log goes to stderr; "msg=listening addr=HOST:PORT" says when the
server accepts requests (listen = "127.0.0.1:0" picks a free port). Every
audit entry is also logged ("msg=audit"). See docs/operations.md.

Unless GOGC is set, Go's collector runs as with GOGC=200 (fewer pauses
for a little more memory), or at Go's own pace in a memory cgroup with a
limit; there, unless GOMEMLIMIT is set, Go's soft memory limit is 80% of
the cgroup's. The log's "msg=runtime" line says which.`)
	config := fs.String("config", "", "configuration `dir`ectory or file (default $AUTHD_CONFIG, else . when it holds *.hcl)")
	data := fs.String("data", "", "data `dir`ectory for the store and the admin socket (default $AUTHD_DATA, else ./data)")
	watch := fs.Bool("watch", false, "reload when a configuration file changes")
	listen := fs.String("listen", "", "override server.http.listen (`host:port`)")
	logFormat := fs.String("log-format", "text", "log `format`: text or json")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	retention := fs.String("audit-retention", "", "override server.store.audit_retention (default 90d): how long audit entries are kept (`duration`: 90d, 12w, 2160h; 0 keeps them forever)")
	ipRate := fs.String("rate-limit-ip", defaultIPRate, "HTTP requests allowed per client address (`N/duration`; 0: no limit)")
	userRate := fs.String("rate-limit-user", defaultUserRate, "journey API answers with a password or code allowed per user (`N/duration`; 0: no limit)")
	withMetrics := fs.Bool("metrics", true, "serve Prometheus metrics on server.http at /metrics")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q (the configuration is given with -config)", pos[0])
	}
	if err := oneOf("log-format", *logFormat, "text", "json"); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usagef("-log-level must be debug, info, warn or error, not %q", *logLevel)
	}
	opts := runOptions{metrics: *withMetrics}
	if *retention != "" {
		if opts.auditRetention, err = parseRetention(*retention); err != nil {
			return usagef("-audit-retention: %v", err)
		}
		if opts.auditRetention > 0 && opts.auditRetention < dsl.MinAuditRetention {
			return usagef("-audit-retention: %s is shorter than 1h (0 keeps entries forever)", opts.auditRetention)
		}
		opts.auditRetentionSet = true
	}
	if opts.ipRate, err = ratelimit.ParseRate(*ipRate); err != nil {
		return usagef("-rate-limit-ip: %v", err)
	}
	if opts.userRate, err = ratelimit.ParseRate(*userRate); err != nil {
		return usagef("-rate-limit-user: %v", err)
	}
	hopts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(c.stderr, hopts)
	if *logFormat == "json" {
		h = slog.NewJSONHandler(c.stderr, hopts)
	}
	log := slog.New(requestIDHandler{h})
	logRuntime(log, c.getenv)

	src, found, err := c.findConfig(nil, *config)
	if err != nil {
		return err
	}
	if !found {
		src = configSource{why: "no configuration found"}
	}
	s := &server{c: c, log: log, src: src, data: c.dataDir(*data), listen: *listen, opts: opts}
	if *watch && src.quickstart() {
		log.Warn("-watch ignored: the embedded quick start cannot change")
		*watch = false
	}
	return s.run(*watch)
}

// parseRetention reads a Go duration, or whole days ("90d") or weeks
// ("12w"); "0" means forever.
func parseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" || s == "forever" {
		return 0, nil
	}
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("%q is not a duration (90d, 12w, 2160h)", s)
			}
			return time.Duration(v) * unit, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration (90d, 12w, 2160h)", s)
	}
	return d, nil
}

// requestIDHandler adds the request id of the context to every record
// logged with one (the *Context logging calls), so the lines of one
// request can be found together.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := engine.RequestIDFrom(ctx); id != "" {
		has := false
		r.Attrs(func(a slog.Attr) bool {
			has = a.Key == "request_id"
			return !has
		})
		if !has {
			r.AddAttrs(slog.String("request_id", id))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// server is one `authd run`.
type server struct {
	c      *cli
	log    *slog.Logger
	src    configSource
	data   string
	listen string // -listen override
	opts   runOptions

	mu      sync.Mutex // serialises reloads
	cfg     *dsl.Config
	secrets string // digest of the files file() read for cfg
	eng     *engine.Engine
	st      *boltstore.Store
	kv      store.KV // st, timed for the metrics
	audit   *audit.Log
	users   *users.Repo
	radius  *radius.Server   // nil without server.radius
	oauth   *oauth.Provider  // nil without relying parties
	push    *push.Service    // nil without push providers
	authz   *resource.Server // protected_resource forward-auth; built in httpHandler
	api     *api.Handler     // the journey API (its parked long polls end at shutdown); built in httpHandler
	portal  *portalFront     // api_clients: the start endpoint and callbacks
	// fed logs users in at identity_provider blocks (federated_login).
	fed *federation.Service
	// ipLim and userLim are shared by every front end, so one address or
	// one user has one budget whichever way it comes in.
	ipLim   *ratelimit.Limiter
	userLim *ratelimit.Limiter

	bound    atomic.Bool // every listener is bound and served
	draining atomic.Bool // shutdown has begun
}

// serverHandles are what other commands' admin operations need of a
// running server.
type serverHandles struct {
	KV     store.KV
	Users  *users.Repo
	Engine *engine.Engine
	Audit  audit.Logger
	Push   *push.Service   // nil without push providers
	OAuth  *oauth.Provider // nil without relying parties
	// Config returns the configuration being served.
	Config func() *dsl.Config
	// Realms lists the realms being served.
	Realms func() []string
}

// adminHooks let the files of other commands register their admin
// operations on the running server without editing run.go; each runs
// once, before the admin socket accepts calls:
//
//	func init() {
//		adminHooks = append(adminHooks, func(h *serverHandles, m *admin.Mux) {
//			(&deviceService{...}).Register(m)
//		})
//	}
var adminHooks []func(h *serverHandles, m *admin.Mux)

// config returns the configuration being served.
func (s *server) config() *dsl.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// load reads and compiles the configuration. At start the diagnostics
// are printed as text for the operator at the terminal; on a reload they
// are logged (one line per error, with file:line:column), because the
// log is where a daemon's operator looks.
func (s *server) load(reload bool) (*dsl.Config, hcl.Diagnostics, error) {
	cfg, diags, files := s.c.loadConfig(s.src, dsl.Options{RequireEnv: true})
	if diags.HasErrors() || cfg == nil || cfg.Program == nil {
		if reload {
			for _, d := range diags {
				if d.Severity == hcl.DiagError {
					s.log.Error("configuration error", diagAttrs(d)...)
				}
			}
		} else {
			dsl.WriteDiagnostics(s.c.stderr, diags, files, "text", 0)
		}
		errs, _ := countDiags(diags)
		return nil, diags, configErrors(s.src, max(errs, 1))
	}
	for _, d := range diags {
		s.log.Warn("configuration warning", diagAttrs(d)...)
	}
	return cfg, diags, nil
}

func diagAttrs(d *hcl.Diagnostic) []any {
	attrs := []any{"summary", d.Summary}
	if d.Subject != nil {
		attrs = append(attrs, "at", diagPos(d))
	}
	if d.Detail != "" {
		attrs = append(attrs, "detail", d.Detail)
	}
	return attrs
}

// diagPos is "file:line:column" of a diagnostic, or "".
func diagPos(d *hcl.Diagnostic) string {
	if d.Subject == nil {
		return ""
	}
	return fmt.Sprintf("%s:%d:%d", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
}

func (s *server) run(watch bool) error {
	cfg, _, err := s.load(false)
	if err != nil {
		return err
	}
	s.cfg = cfg
	s.secrets = secretDigest(cfg)
	// The files as they were loaded: taken now, not when the watcher
	// starts, so an edit made right after the start is not mistaken for
	// the loaded state.
	watchFrom := ""
	if watch {
		watchFrom = s.fingerprint()
	}
	if s.src.quickstart() {
		s.log.Info("no configuration found: serving the embedded quick start", "hint", "write *.hcl files here, or pass -config DIR")
	} else {
		s.log.Info("configuration loaded", "from", s.src.String(), "realms", len(cfg.Program.Realms), "journeys", len(cfg.Program.Journeys), "revision", short(cfg.Program.Revision))
	}

	if err := os.MkdirAll(s.data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if fi, err := os.Stat(s.data); err == nil && fi.Mode().Perm()&0o077 != 0 {
		s.log.Warn("the data directory is open to other users; the store and admin socket are 0600, but chmod 700 it", "dir", s.data, "mode", fmt.Sprintf("%#o", fi.Mode().Perm()))
	}
	path := storePath(cfg, s.data)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	st, err := openStore(path, boltstore.Options{LockTimeout: runLockTimeout})
	if err != nil {
		return err
	}
	s.st = st
	defer func() {
		if err := st.Close(); err != nil {
			s.log.Error("closing the store", "err", err)
		}
	}()
	s.kv = metrics.InstrumentKV(st)
	s.audit, err = audit.New(s.kv, audit.Options{Log: s.log, Mirror: true})
	if err != nil {
		return err
	}
	s.users = users.NewRepo(s.kv)
	// The portal dispatcher sees every journey end on its way to the audit
	// log, so it learns when a journey an api_client started is over.
	s.portal = newPortalFront(s.kv, s.audit, s.log)
	if err := s.portal.Load(cfg); err != nil {
		return err
	}
	s.eng = engine.New(engine.Options{KV: s.kv, Users: s.users, Log: s.log, Audit: s.portal.d.Observe(s.audit)})
	s.portal.d.SetEngine(s.eng)
	s.eng.Load(cfg.Program)
	metrics.SetBuildInfo(versionString())
	metrics.ConfigLoaded(cfg.Program.Revision, "applied", time.Now())
	metrics.SetPendingSessions(s.eng.PendingSessions)
	defer metrics.SetPendingSessions(nil)
	s.audit.Log(context.Background(), audit.Entry{Kind: audit.KindConfig, Frontend: "server", Result: audit.ResultSuccess,
		Reason: "configuration loaded at start", Detail: map[string]string{"revision": short(cfg.Program.Revision), "from": s.src.String(), "version": versionString()}})

	mfaRepo, err := attachMFA(s.kv, s.eng, cfg, s.c.getenv, s.data, s.log)
	if err != nil {
		return err
	}
	if len(cfg.PushProviders) > 0 {
		if s.push, err = push.New(s.eng, s.kv, cfg, s.log); err != nil {
			return fmt.Errorf("push: %v", err)
		}
		defer s.push.Close()
	}
	if len(cfg.RelyingParties) > 0 {
		// The signing keys and HMAC secret are sealed with the store key
		// of the OTP secrets: one key protects every secret in the store.
		oc := oauth.FromDSL(cfg)
		oc.Sealer = mfaRepo
		if s.oauth, err = oauth.New(s.eng, s.kv, s.users, oc, s.log); err != nil {
			return fmt.Errorf("oauth: %v", err)
		}
	}
	s.attachFederation(cfg)

	// Listeners first, so a port in use fails before anything is served
	// or stored (the quick start's demo user below).
	httpCfg := cfg.Server.HTTP
	addr := httpCfg.Listen
	if s.listen != "" {
		addr = s.listen
	}
	if addr == "" {
		addr = "127.0.0.1:9000"
	}
	var tlsConfig *tls.Config
	if t := httpCfg.TLS; t != nil {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return fmt.Errorf("server.http.tls: %v", err)
		}
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("server.http.listen %s: %v", addr, unwrapNetError(err))
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	var radiusConns []net.PacketConn // authentication, then accounting
	closeAll := func() {
		ln.Close()
		for _, c := range radiusConns {
			c.Close()
		}
	}
	if r := cfg.Server.RADIUS; r != nil {
		s.radius, err = radius.New(radius.FromDSL(cfg), radius.Options{Engine: s.eng, Log: s.log.With("frontend", "radius")})
		if err != nil {
			closeAll()
			return fmt.Errorf("radius: %v", err)
		}
		for _, a := range []struct{ name, addr string }{{"listen", r.Listen}, {"accounting_listen", r.AccountingListen}} {
			if a.addr == "" {
				continue
			}
			pc, err := net.ListenPacket("udp", a.addr)
			if err != nil {
				closeAll()
				return fmt.Errorf("server.radius.%s %s: %v", a.name, a.addr, unwrapNetError(err))
			}
			radiusConns = append(radiusConns, pc)
		}
		metrics.SetHeldRADIUS(s.radius.Held)
		defer metrics.SetHeldRADIUS(nil)
	}
	sockPath := filepath.Join(s.data, admin.SocketName)
	adminLn, err := admin.Listen(sockPath)
	if err != nil {
		closeAll()
		return err
	}

	// The demo user only once every listener is bound: its password is
	// shown once, in the banner, and a start that fails after creating
	// the user would lose it.
	var demoPassword, demoRealm, demoJourney string
	if s.src.quickstart() {
		demoRealm, demoJourney = quickstartTarget(cfg.Program)
		demoPassword, err = ensureDemoUser(s.users, demoRealm)
		if err != nil {
			closeAll()
			adminLn.Close()
			return err
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	mux := admin.NewMux()
	mux.Handle("ping", admin.Typed(func(context.Context, struct{}) (admin.Pong, error) {
		return admin.Pong{Version: versionString(), PID: os.Getpid()}, nil
	}))
	(&admin.UserService{Repo: s.users, Realms: s.realms}).Register(mux)
	registerStoreOps(mux, st)
	mux.Handle("reload", admin.Typed(func(context.Context, struct{}) (reloadResult, error) {
		return s.reload("admin socket")
	}))
	(&admin.AuditService{Log: s.audit}).Register(mux)
	(&mfaService{Repo: mfaRepo, Users: s.users, Realms: s.realms, Issuer: realmIssuer(s.config)}).Register(mux)
	handles := &serverHandles{KV: s.kv, Users: s.users, Engine: s.eng, Audit: s.audit, Push: s.push, OAuth: s.oauth, Config: s.config, Realms: s.realms}
	for _, hook := range adminHooks {
		hook(handles, mux)
	}

	s.ipLim = ratelimit.New(s.opts.ipRate)
	s.userLim = ratelimit.New(s.opts.userRate)
	srv := newHTTPServer(s.httpHandler(), s.log)
	metrics.SetParkedAPI(s.api.Parked)
	defer metrics.SetParkedAPI(nil)
	srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }

	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for i, pc := range radiusConns {
		serve := s.radius.Serve
		kind := "radius"
		if i == 1 {
			serve, kind = s.radius.ServeAccounting, "radius accounting"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := serve(pc); err != nil && !errors.Is(err, radius.ErrServerClosed) {
				errc <- fmt.Errorf("%s: %w", kind, err)
			}
		}()
		s.log.Info("radius listening", "addr", pc.LocalAddr().String(), "kind", kind)
	}
	wg.Add(4)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	go func() {
		defer wg.Done()
		as := &admin.Server{Handler: admin.Audited(mux, s.audit, "admin"), Log: s.log.With("component", "admin")}
		if err := as.Serve(ctx, adminLn); err != nil {
			errc <- fmt.Errorf("admin socket: %w", err)
		}
	}()
	go func() {
		defer wg.Done()
		s.eng.RunSweeper(ctx, sweepInterval)
	}()
	go func() {
		defer wg.Done()
		s.runAuditRetention(ctx, auditSweepEvery)
	}()
	if s.push != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.push.Run(ctx, sweepInterval)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.fed.RunSweeper(ctx, sweepInterval)
	}()
	if s.oauth != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.oauth.RunSweeper(ctx, sweepInterval)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.portal.d.Run(ctx) // callbacks; resumes what a restart left
	}()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				s.reload("SIGHUP")
			}
		}
	}()
	if watch {
		go s.watch(ctx, watchFrom)
	}

	real := ln.Addr().String()
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	if httpCfg.PublicURL == "" {
		s.fed.SetPublicURL(scheme + "://" + reachable(real)) // the upstream redirect URI's base
	}
	if s.push != nil && httpCfg.PublicURL == "" {
		// Devices need an address they can reach; without public_url the
		// listening address is the best guess (and right on loopback).
		s.push.SetPublicURL(scheme + "://" + reachable(real))
	}
	if s.src.quickstart() {
		s.printBanner(scheme+"://"+reachable(real), demoRealm, demoJourney, demoPassword)
	}
	s.bound.Store(true)
	s.log.Info("listening", "addr", real, "scheme", scheme, "admin_socket", sockPath, "version", versionString(), "pid", os.Getpid())

	var runErr error
	select {
	case <-ctx.Done():
		s.log.Info("shutting down", "timeout", shutdownTimeout)
	case runErr = <-errc:
		s.log.Error("server failed; shutting down", "err", runErr)
	}
	s.draining.Store(true) // /readyz turns 503 so balancers stop sending
	stop()                 // a second signal kills at once
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	var sdwg sync.WaitGroup
	if s.radius != nil {
		sdwg.Add(1)
		go func() {
			defer sdwg.Done()
			held := s.radius.Held()
			if err := s.radius.Shutdown(sctx); err != nil {
				s.log.Warn("radius requests still running at the shutdown deadline were cut", "err", err)
			} else if held > 0 {
				s.log.Info("held RADIUS requests answered before stopping", "count", held)
			}
		}()
	}
	sdwg.Add(1)
	go func() {
		// Long polls the journey API parked (taken over from the HTTP
		// server, which no longer waits for them) are answered with
		// where their journey stands; the clients poll again elsewhere.
		defer sdwg.Done()
		parked := s.api.Parked()
		if err := s.api.Shutdown(sctx); err != nil {
			s.log.Warn("parked long polls still running at the shutdown deadline were cut", "err", err)
		} else if parked > 0 {
			s.log.Info("parked long polls answered before stopping", "count", parked)
		}
	}()
	if err := srv.Shutdown(sctx); err != nil {
		s.log.Warn("requests still running at the shutdown deadline were cut", "err", err)
		srv.Close()
	}
	sdwg.Wait()
	wg.Wait()
	s.log.Info("stopped")
	return runErr
}

// newHTTPServer is the HTTP server of every front end, with the
// slow-client timeouts.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// httpHandler routes server.http: the journey API, OAuth and the push
// device endpoints (each behind the per-address rate limit), health,
// readiness and metrics (never limited, so probes and scrapes keep
// working under a flood), all with request ids, a 500 for a handler's
// panic and a body size cap.
func (s *server) httpHandler() http.Handler {
	root := http.NewServeMux()
	s.api = api.NewWithOptions(s.eng, api.Options{
		Log: s.log, IPLimit: s.ipLim, UserLimit: s.userLim,
		APIClients: s.portal.Clients, // their journeys start only through /start
	})
	root.Handle("/", s.api)
	if s.push != nil {
		root.Handle("/api/v1/push/", s.ipLim.Middleware("push", s.push.Handler()))
	}
	if s.oauth != nil {
		s.oauth.SetUserLimit(s.userLim) // login pages and the password grant
		h := s.ipLim.Middleware(engine.FrontendOAuth, s.oauth.Handler())
		root.Handle("/oauth2/", h)
		root.Handle("/.well-known/", h)
	} else if s.fed != nil {
		// Journey API sessions of federated_login come back here.
		root.Handle("GET "+federation.CallbackPath, s.ipLim.Middleware("federation", s.fed.Handler()))
	}
	s.authz = resource.New(resource.Options{Local: localIssuer(s.oauth), Log: s.log})
	if err := s.authz.Load(s.cfg); err != nil {
		s.log.Error("protected resources not served", "err", err)
	}
	// Not behind the per-address limit: a gateway sends every request of
	// its clients from its own address, and a check does no password or
	// code work (a signature, or a cached or in-process lookup). Clients
	// are limited at the gateway (docs/api.md, forward-auth).
	root.Handle("/api/v1/authz/", s.authz.Handler())
	root.Handle(api.PortalPattern, s.ipLim.Middleware("portal", s.portal.Handler(s.eng)))
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	root.HandleFunc("GET /readyz", s.readyz)
	if s.opts.metrics {
		root.Handle("GET /metrics", metrics.Handler())
	}
	return api.RequestIDs(api.Recover(s.log, http.MaxBytesHandler(root, maxRequestBytes)))
}

// localIssuer keeps a nil provider a nil interface.
func localIssuer(p *oauth.Provider) resource.LocalIssuer {
	if p == nil {
		return nil
	}
	return p
}

// readyz answers 200 when the server can serve logins: the store answers
// a read, the listeners are bound and a configuration is loaded; 503 with
// the failing checks otherwise, and from the start of a shutdown.
func (s *server) readyz(w http.ResponseWriter, _ *http.Request) {
	checks := map[string]string{}
	ready := true
	check := func(name string, err error) {
		if err != nil {
			checks[name] = err.Error()
			ready = false
		} else {
			checks[name] = "ok"
		}
	}
	check("store", s.kv.View(func(store.Tx) error { return nil }))
	if !s.bound.Load() {
		check("listeners", errors.New("not bound yet"))
	} else {
		check("listeners", nil)
	}
	if s.eng.Program() == nil {
		check("config", errors.New("no configuration loaded"))
	} else {
		check("config", nil)
	}
	if s.draining.Load() {
		check("shutdown", errors.New("shutting down"))
	}
	status, code := "ready", http.StatusOK
	if !ready {
		status, code = "not ready", http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	fmt.Fprintf(w, "{\"status\":%q,\"checks\":{", status)
	names := make([]string, 0, len(checks))
	for n := range checks {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		if i > 0 {
			w.Write([]byte(","))
		}
		fmt.Fprintf(w, "%q:%q", n, checks[n])
	}
	w.Write([]byte("}}\n"))
}

// realms lists the realms of the configuration being served.
func (s *server) realms() []string {
	p := s.eng.Program()
	if p == nil {
		return nil
	}
	names := make([]string, 0, len(p.Realms))
	for n := range p.Realms {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// reload loads the configuration again; on errors the running one stays.
func (s *server) reload(trigger string) (reloadResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cfg
	if s.src.quickstart() {
		return reloadResult{Revision: old.Program.Revision}, nil
	}
	ctx := context.Background()
	// at and what are the first error's place and summary (never its
	// detail, which may quote a value), so `authd reload` can name it.
	refuse := func(err error, at, what string) (reloadResult, error) {
		metrics.ConfigLoaded("", "refused", time.Now())
		e := audit.Entry{Kind: audit.KindConfig, Frontend: "server", Result: audit.ResultFailure,
			Reason: "reload refused: " + err.Error(), Detail: map[string]string{"trigger": trigger}}
		if at != "" {
			e.Detail["at"] = at
		}
		s.audit.Log(ctx, e)
		s.log.Error("reload refused; the running configuration stays", "trigger", trigger, "err", err, "revision", short(old.Program.Revision))
		if at != "" {
			return reloadResult{}, admin.Errorf(admin.CodeInvalid, "%v, the first at %s: %s; the running configuration stays (run authd validate)", err, at, what)
		}
		return reloadResult{}, admin.Errorf(admin.CodeInvalid, "%v; the running configuration stays (run authd validate)", err)
	}
	cfg, diags, err := s.load(true)
	if err != nil {
		at, what := "", ""
		for _, d := range diags {
			if d.Severity == hcl.DiagError {
				at, what = diagPos(d), d.Summary
				break
			}
		}
		return refuse(err, at, what)
	}
	_, warns := countDiags(diags)
	res := reloadResult{Revision: cfg.Program.Revision, Warnings: warns}
	// The revision hashes the configuration files, not what file() read:
	// a rotated secret file is a change too.
	secrets := secretDigest(cfg)
	if cfg.Program.Revision == old.Program.Revision && cfg.Program.Revision != "" && secrets == s.secrets {
		metrics.ConfigLoaded(cfg.Program.Revision, "unchanged", time.Now())
		s.log.Info("configuration unchanged", "trigger", trigger, "revision", short(cfg.Program.Revision))
		return res, nil
	}
	if serverChanged(old.Server, cfg.Server) {
		s.log.Warn("the server block changed; restart authd to apply it", "trigger", trigger)
	}
	if err := s.apply(old, cfg); err != nil {
		return refuse(err, "", "")
	}
	s.cfg = cfg
	s.secrets = secrets
	res.Changed = true
	metrics.ConfigLoaded(cfg.Program.Revision, "applied", time.Now())
	s.audit.Log(ctx, audit.Entry{Kind: audit.KindConfig, Frontend: "server", Result: audit.ResultSuccess,
		Reason: "configuration reloaded", Detail: map[string]string{"trigger": trigger, "revision": short(cfg.Program.Revision), "previous": short(old.Program.Revision)}})
	s.log.Info("configuration reloaded", "trigger", trigger, "revision", short(cfg.Program.Revision),
		"realms", len(cfg.Program.Realms), "journeys", len(cfg.Program.Journeys))
	return res, nil
}

// apply switches every part of the server to cfg, or none. What can be
// checked without touching a running front end is checked first (RADIUS
// clients and policies compile in a throwaway server). Then each part
// swaps its own configuration in one atomic step (a request sees the old
// clients, secrets and relying parties or the new ones, never a mix);
// should a later part still refuse, the earlier ones are switched back
// to old, so a refused reload leaves everything as it was. The engine
// goes before RADIUS so new policies never name a journey it lacks;
// sessions keep the journey revision they started on either way.
func (s *server) apply(old, cfg *dsl.Config) error {
	if s.radius != nil {
		if _, err := radius.New(radius.FromDSL(cfg), radius.Options{Engine: s.eng, Log: slog.New(slog.DiscardHandler)}); err != nil {
			return fmt.Errorf("RADIUS: %v", err)
		}
	}
	if s.oauth == nil && len(cfg.RelyingParties) > 0 {
		s.log.Warn("relying parties were added; restart authd to serve OAuth")
	}
	if s.push == nil && len(cfg.PushProviders) > 0 {
		s.log.Warn("push providers were added; restart authd to serve push")
	}
	type part struct {
		name string
		to   func(*dsl.Config) error
	}
	var parts []part
	if s.oauth != nil {
		parts = append(parts, part{"relying parties", func(c *dsl.Config) error {
			oc := oauth.FromDSL(c)
			s.oauth.SetRealmSSOTTL(oc.RealmSSOTTL)
			return s.oauth.SetClients(oc.Clients)
		}})
	}
	if s.fed != nil {
		parts = append(parts, part{"identity providers", s.fed.Reload})
	}
	if s.push != nil {
		parts = append(parts, part{"push providers", s.push.Reload})
	}
	if s.authz != nil {
		parts = append(parts, part{"protected resources", s.authz.Load})
	}
	parts = append(parts, part{"api clients", s.portal.Load})
	parts = append(parts, part{"journeys", func(c *dsl.Config) error { s.eng.Load(c.Program); return nil }})
	if s.radius != nil {
		parts = append(parts, part{"RADIUS clients and policies", func(c *dsl.Config) error { return s.radius.Load(radius.FromDSL(c)) }})
	}
	for i, p := range parts {
		if err := p.to(cfg); err != nil {
			for j := i - 1; j >= 0; j-- {
				if rerr := parts[j].to(old); rerr != nil {
					s.log.Error("switching back after a refused reload failed", "part", parts[j].name, "err", rerr)
				}
			}
			return fmt.Errorf("%s: %v", p.name, err)
		}
	}
	return nil
}

// secretDigest hashes the files the configuration's file() calls read
// (names and contents), so a reload notices a rotated secret that leaves
// the configuration itself, and so its revision, unchanged. It never
// keeps or logs the contents.
func secretDigest(cfg *dsl.Config) string {
	if cfg == nil || len(cfg.SecretFiles) == 0 {
		return ""
	}
	h := sha256.New()
	for _, p := range cfg.SecretFiles {
		b, err := os.ReadFile(p)
		if err != nil {
			b = []byte("\x00missing")
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// serverChanged reports whether a reload touched what only a restart
// applies: listeners, the public URL and the store.
func serverChanged(a, b dsl.Server) bool {
	if a.HTTP.Listen != b.HTTP.Listen || a.HTTP.PublicURL != b.HTTP.PublicURL || a.Store.Path != b.Store.Path || (a.HTTP.TLS == nil) != (b.HTTP.TLS == nil) {
		return true
	}
	if a.HTTP.TLS != nil && (a.HTTP.TLS.CertFile != b.HTTP.TLS.CertFile || a.HTTP.TLS.KeyFile != b.HTTP.TLS.KeyFile) {
		return true
	}
	if (a.RADIUS == nil) != (b.RADIUS == nil) {
		return true
	}
	return a.RADIUS != nil && (a.RADIUS.Listen != b.RADIUS.Listen || a.RADIUS.AccountingListen != b.RADIUS.AccountingListen)
}

// watch polls the configuration files and reloads after they changed and
// then stayed the same for one interval (editors write in several steps).
// Polling keeps authd free of a file-notification dependency and works on
// every file system, network mounts and Kubernetes ConfigMaps included.
// last is the fingerprint of the files as they were loaded.
func (s *server) watch(ctx context.Context, last string) {
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	pending := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fp := s.fingerprint()
		switch {
		case fp != last:
			last, pending = fp, fp
		case pending != "" && fp == pending:
			pending = ""
			s.reload("file change")
		}
	}
}

// fingerprint summarises names, sizes and times of the configuration files.
func (s *server) fingerprint() string {
	var parts []string
	add := func(p string) {
		if fi, err := os.Stat(p); err == nil {
			parts = append(parts, fmt.Sprintf("%s|%d|%d", p, fi.Size(), fi.ModTime().UnixNano()))
		}
	}
	for _, p := range s.src.paths {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		if !fi.IsDir() {
			add(p)
			continue
		}
		ents, _ := os.ReadDir(p)
		for _, e := range ents {
			if !e.IsDir() && (strings.HasSuffix(e.Name(), ".hcl") || strings.HasSuffix(e.Name(), ".hcl.json")) {
				add(filepath.Join(p, e.Name()))
			}
		}
	}
	s.mu.Lock()
	if s.cfg != nil {
		for name := range s.cfg.Files { // files read with file() too
			add(name)
		}
	}
	s.mu.Unlock()
	sort.Strings(parts)
	return strings.Join(parts, "\n")
}

// quickstartTarget picks the realm and journey the quick start banner
// shows: journey "login" when there is one, else the first by name.
func quickstartTarget(p *engine.Program) (realm, journey string) {
	names := make([]string, 0, len(p.Journeys))
	for n := range p.Journeys {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if n == "login" {
			return p.Journeys[n].Realm, n
		}
	}
	if len(names) > 0 {
		return p.Journeys[names[0]].Realm, names[0]
	}
	for r := range p.Realms {
		return r, ""
	}
	return "", ""
}

// ensureDemoUser creates the quick start's demo user when the realm has no
// user yet and returns its password; "" means the store already had users
// (the banner was shown on an earlier start).
func ensureDemoUser(repo *users.Repo, realm string) (string, error) {
	us, err := repo.List(realm)
	if err != nil {
		return "", fmt.Errorf("reading users: %w", err)
	}
	if len(us) > 0 {
		return "", nil
	}
	pw := randomPassword()
	hash, err := users.HashPassword(pw)
	if err != nil {
		return "", err
	}
	now := time.Now().UTC()
	u := &users.User{Realm: realm, Name: quickstartUser, PasswordHash: hash, Created: now, Updated: now}
	if err := repo.Create(u); err != nil {
		return "", fmt.Errorf("creating the demo user: %w", err)
	}
	return pw, nil
}

// randomPassword returns 20 characters in groups of five from an alphabet
// without look-alikes (about 100 bits), easy to read off a terminal.
func randomPassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789" // no i, l, o, 0, 1
	var b strings.Builder
	for i := 0; i < 20; i++ {
		if i > 0 && i%5 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(alphabet[randIndex(len(alphabet))])
	}
	return b.String()
}

// randIndex is a uniform random index below n from crypto/rand.
func randIndex(n int) int {
	var buf [1]byte
	limit := 256 - 256%n
	for {
		if _, err := rand.Read(buf[:]); err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		if int(buf[0]) < limit {
			return int(buf[0]) % n
		}
	}
}

// reachable turns a wildcard listening address into one a local client can
// use in the banner's URL.
func reachable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if ip.To4() != nil {
			host = "127.0.0.1"
		} else {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port)
}

// printBanner tells the operator how to log in to the quick start: with
// the demo user's password the start that created it, and on later starts
// how to set a new one, since it is shown only once.
func (s *server) printBanner(base, realm, journey, password string) {
	url := fmt.Sprintf("%s/api/v1/realms/%s/journeys/%s/authenticate", base, realm, journey)
	if password == "" {
		fmt.Fprintf(s.c.stdout, `
authd quick start: no configuration found, serving the embedded example.

  URL:       %s
  realm:     %s   journey: %s
  user:      %s (its password was shown when it was created)

To set a new password, while this server runs:

  %s user passwd -data %s -realm %s %s

`, base, realm, journey, quickstartUser, selfCommand(), shellQuote(s.data), realm, quickstartUser)
		return
	}
	fmt.Fprintf(s.c.stdout, `
authd quick start: no configuration found, serving the embedded example.

  URL:       %s
  realm:     %s   journey: %s
  user:      %s
  password:  %s

The password is shown only this once. Log in with the journey API:

  S=$(curl -s -H 'Content-Type: application/json' -d '{}' %s | sed -E 's/.*"session":"([^"]+)".*/\1/')
  curl -s -H 'Content-Type: application/json' %s -d '{"session":"'"$S"'","callbacks":[{"id":"username","value":"%s"},{"id":"password","value":"%s"}]}'

Journey "push" adds a push to a phone: README.md, step 3, approves one on
this machine with authd authenticator.

Next: write your own *.hcl files (see examples/) and run authd validate.

`, base, realm, journey, quickstartUser, password, url, url, quickstartUser, password)
}

// selfCommand is how the operator ran authd (say ./bin/authd from
// make run), for commands printed to be pasted back.
func selfCommand() string {
	if len(os.Args) > 0 && strings.ContainsRune(os.Args[0], '/') && !filepath.IsAbs(os.Args[0]) {
		return shellQuote(os.Args[0])
	}
	return "authd"
}

// shellQuote quotes s for a POSIX shell when it holds anything beyond
// the characters paths are usually made of.
func shellQuote(s string) string {
	safe := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_./-:=@%+,", r))
	}) < 0
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// unwrapNetError keeps "address already in use" instead of the whole
// "listen tcp 127.0.0.1:9000: bind: ..." chain.
func unwrapNetError(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		var se *os.SyscallError
		if errors.As(oe.Err, &se) {
			return se.Err
		}
		return oe.Err
	}
	return err
}

// attachFederation builds the upstream OpenID Connect client of the
// identity_provider blocks and hands it to federated_login (engine
// services) and to the OAuth login pages, which serve its callback. It is
// built even without providers, so a reload can add some.
func (s *server) attachFederation(cfg *dsl.Config) {
	s.fed = federation.New(federation.Options{KV: s.kv, PublicURL: cfg.Server.HTTP.PublicURL, Log: s.log.With("component", "federation")})
	s.fed.Load(federation.FromDSL(cfg))
	s.eng.Services().Federation = s.fed
	if s.oauth != nil {
		s.oauth.SetFederation(s.fed)
	}
}
