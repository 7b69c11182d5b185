package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/engine/users"
	_ "github.com/authd/authd/nodes" // registers the built-in node types
	"github.com/authd/authd/protocols/admin"
	"github.com/authd/authd/protocols/api"
	"github.com/authd/authd/protocols/radius"
)

// Serving limits. WriteTimeout leaves room for requests a front end holds
// while a journey waits (a push answer).
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 2 * time.Minute
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	shutdownTimeout   = 15 * time.Second
	sweepInterval     = time.Minute
	runLockTimeout    = 500 * time.Millisecond
	watchInterval     = time.Second
)

// quickstartUser is the demo account the quick start creates.
const quickstartUser = "demo"

func (c *cli) cmdRun(args []string) error {
	fs := c.flagSet("run", "authd run [-config DIR] [-data DIR] [-watch] [-listen ADDR]", `
Serves the journey API (and the other front ends the configuration
declares) until SIGINT or SIGTERM, then drains requests and closes the
store. SIGHUP, -watch and 'authd reload' reload the configuration.

The configuration comes from -config DIR, else $AUTHD_CONFIG, else the
current directory when it holds *.hcl files. Every env() it names must be
set. With no configuration anywhere, authd serves the embedded quick start
(realm "demo", journey "login") and, on the first start with an empty
store, creates the user "demo" with a random password and prints it once.

The store (server.store.path, default authd.db) lives in -data DIR, else
$AUTHD_DATA, else ./data, created with mode 0700; one authd at a time holds
it. Admin commands (authd user ...) reach the running server through the
admin socket DIR/admin.sock (mode 0600, same user or root only).

The log goes to stderr; "msg=listening addr=HOST:PORT" says when the
server accepts requests (listen = "127.0.0.1:0" picks a free port).`)
	config := fs.String("config", "", "configuration `dir`ectory or file (default $AUTHD_CONFIG, else . when it holds *.hcl)")
	data := fs.String("data", "", "data `dir`ectory for the store and the admin socket (default $AUTHD_DATA, else ./data)")
	watch := fs.Bool("watch", false, "reload when a configuration file changes")
	listen := fs.String("listen", "", "override server.http.listen (`host:port`)")
	logFormat := fs.String("log-format", "text", "log `format`: text or json")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
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
	hopts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(c.stderr, hopts)
	if *logFormat == "json" {
		h = slog.NewJSONHandler(c.stderr, hopts)
	}
	log := slog.New(h)

	src, found, err := c.findConfig(nil, *config)
	if err != nil {
		return err
	}
	if !found {
		src = configSource{why: "no configuration found"}
	}
	s := &server{c: c, log: log, src: src, data: c.dataDir(*data), listen: *listen}
	if *watch && src.quickstart() {
		log.Warn("-watch ignored: the embedded quick start cannot change")
		*watch = false
	}
	return s.run(*watch)
}

// server is one `authd run`.
type server struct {
	c      *cli
	log    *slog.Logger
	src    configSource
	data   string
	listen string // -listen override

	mu     sync.Mutex // serialises reloads
	cfg    *dsl.Config
	eng    *engine.Engine
	st     *boltstore.Store
	radius *radius.Server // nil without server.radius
}

// load reads and compiles the configuration, printing its errors.
func (s *server) load() (*dsl.Config, hcl.Diagnostics, error) {
	cfg, diags, files := s.c.loadConfig(s.src, dsl.Options{RequireEnv: true})
	if diags.HasErrors() || cfg == nil || cfg.Program == nil {
		dsl.WriteDiagnostics(s.c.stderr, diags, files, "text", 0)
		errs, _ := countDiags(diags)
		return nil, diags, configErrors(s.src, max(errs, 1))
	}
	for _, d := range diags {
		attrs := []any{"summary", d.Summary}
		if d.Subject != nil {
			attrs = append(attrs, "at", d.Subject.String())
		}
		s.log.Warn("configuration warning", attrs...)
	}
	return cfg, diags, nil
}

func (s *server) run(watch bool) error {
	cfg, _, err := s.load()
	if err != nil {
		return err
	}
	s.cfg = cfg
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
	repo := users.NewRepo(st)
	s.eng = engine.New(engine.Options{KV: st, Users: repo, Log: s.log})
	s.eng.Load(cfg.Program)

	var demoPassword, demoRealm, demoJourney string
	if s.src.quickstart() {
		demoRealm, demoJourney = quickstartTarget(cfg.Program)
		demoPassword, err = ensureDemoUser(repo, demoRealm)
		if err != nil {
			return err
		}
	}

	// Listeners first, so a port in use fails before anything is served.
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
	}
	sockPath := filepath.Join(s.data, admin.SocketName)
	adminLn, err := admin.Listen(sockPath)
	if err != nil {
		closeAll()
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	mux := admin.NewMux()
	mux.Handle("ping", admin.Typed(func(context.Context, struct{}) (admin.Pong, error) {
		return admin.Pong{Version: versionString(), PID: os.Getpid()}, nil
	}))
	(&admin.UserService{Repo: repo, Realms: s.realms}).Register(mux)
	registerStoreOps(mux, st)
	mux.Handle("reload", admin.Typed(func(context.Context, struct{}) (reloadResult, error) {
		return s.reload("admin socket")
	}))

	handler := http.NewServeMux()
	handler.Handle("/", api.New(s.eng, s.log))
	handler.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}

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
	wg.Add(3)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	go func() {
		defer wg.Done()
		as := &admin.Server{Handler: mux, Log: s.log.With("component", "admin")}
		if err := as.Serve(ctx, adminLn); err != nil {
			errc <- fmt.Errorf("admin socket: %w", err)
		}
	}()
	go func() {
		defer wg.Done()
		s.eng.RunSweeper(ctx, sweepInterval)
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
		go s.watch(ctx)
	}
	if cfg.Server.Store.EncryptionKey.IsSet() {
		s.log.Warn("server.store.encryption_key is set, but this build does not encrypt the store yet: secrets are stored in the clear (protected by the file's 0600 mode)")
	}

	real := ln.Addr().String()
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	if s.src.quickstart() && demoPassword != "" {
		s.printBanner(scheme+"://"+reachable(real), demoRealm, demoJourney, demoPassword)
	}
	s.log.Info("listening", "addr", real, "scheme", scheme, "admin_socket", sockPath, "version", versionString())

	var runErr error
	select {
	case <-ctx.Done():
		s.log.Info("shutting down", "timeout", shutdownTimeout)
	case runErr = <-errc:
		s.log.Error("server failed; shutting down", "err", runErr)
	}
	stop() // a second signal kills at once
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	var sdwg sync.WaitGroup
	if s.radius != nil {
		sdwg.Add(1)
		go func() {
			defer sdwg.Done()
			if err := s.radius.Shutdown(sctx); err != nil {
				s.log.Warn("radius requests still running at the shutdown deadline were cut", "err", err)
			}
		}()
	}
	if err := srv.Shutdown(sctx); err != nil {
		s.log.Warn("requests still running at the shutdown deadline were cut", "err", err)
		srv.Close()
	}
	sdwg.Wait()
	wg.Wait()
	s.log.Info("stopped")
	return runErr
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
	cfg, diags, err := s.load()
	if err != nil {
		s.log.Error("reload refused; the running configuration stays", "trigger", trigger, "err", err)
		return reloadResult{}, admin.Errorf(admin.CodeInvalid, "%v; the running configuration stays (run authd validate)", err)
	}
	_, warns := countDiags(diags)
	res := reloadResult{Revision: cfg.Program.Revision, Warnings: warns}
	if cfg.Program.Revision == old.Program.Revision && cfg.Program.Revision != "" {
		s.log.Info("configuration unchanged", "trigger", trigger, "revision", short(cfg.Program.Revision))
		return res, nil
	}
	if serverChanged(old.Server, cfg.Server) {
		s.log.Warn("the server block changed; restart authd to apply it", "trigger", trigger)
	}
	// The engine first, so RADIUS policies never name a journey it lacks.
	s.eng.Load(cfg.Program)
	s.cfg = cfg
	res.Changed = true
	if s.radius != nil {
		if err := s.radius.Load(radius.FromDSL(cfg)); err != nil {
			s.log.Error("RADIUS kept its previous clients and policies", "trigger", trigger, "err", err)
			return res, admin.Errorf(admin.CodeInvalid, "journeys reloaded, but RADIUS kept its previous clients and policies: %v", err)
		}
	}
	s.log.Info("configuration reloaded", "trigger", trigger, "revision", short(cfg.Program.Revision),
		"realms", len(cfg.Program.Realms), "journeys", len(cfg.Program.Journeys))
	return res, nil
}

// serverChanged reports whether a reload touched what only a restart
// applies: listeners and the store.
func serverChanged(a, b dsl.Server) bool {
	if a.HTTP.Listen != b.HTTP.Listen || a.Store.Path != b.Store.Path || (a.HTTP.TLS == nil) != (b.HTTP.TLS == nil) {
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
func (s *server) watch(ctx context.Context) {
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	last := s.fingerprint()
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

// printBanner tells the operator, once, how to log in to the quick start.
func (s *server) printBanner(base, realm, journey, password string) {
	url := fmt.Sprintf("%s/api/v1/realms/%s/journeys/%s/authenticate", base, realm, journey)
	fmt.Fprintf(s.c.stdout, `
authd quick start: no configuration found, serving the embedded example.

  URL:       %s
  realm:     %s   journey: %s
  user:      %s
  password:  %s

The password is shown only this once. Log in with the journey API:

  S=$(curl -s -H 'Content-Type: application/json' -d '{}' %s | sed -E 's/.*"session":"([^"]+)".*/\1/')
  curl -s -H 'Content-Type: application/json' %s -d '{"session":"'"$S"'","callbacks":[{"id":"username","value":"%s"},{"id":"password","value":"%s"}]}'

Next: write your own *.hcl files (see examples/) and run authd validate.

`, base, realm, journey, quickstartUser, password, url, url, quickstartUser, password)
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
