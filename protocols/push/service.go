package push

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/devices"
	"github.com/authd/authd/engine/metrics"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/protocols/push/wire"
)

// Defaults of a Service.
const (
	// DefaultSendTimeout bounds one delivery to a provider.
	DefaultSendTimeout = 10 * time.Second
	// MaxPending is how many pushes a user may have pending at once.
	MaxPending = 3
	// sweepGrace keeps a push (or enrolment code) readable this long after
	// it expired, so a journey that comes back late still reads
	// "expired" rather than "gone".
	sweepGrace = 24 * time.Hour
	// maxPendingWait bounds a long-polling GET /api/v1/push/pending.
	maxPendingWait = 30 * time.Second
)

// Service is the push subsystem of one authd process. It is safe for
// concurrent use.
type Service struct {
	eng   *engine.Engine
	store *devices.Store
	log   *slog.Logger
	audit audit.Logger
	clock engine.Clock
	opts  options

	providers atomic.Pointer[providerSet]
	publicURL atomic.Pointer[string]
	mux       *http.ServeMux

	notify  waiters // poll devices waiting for a new push
	answers answers // device answers between their check and their commit
	nonces  nonceCache
	// sendWG tracks deliveries, so Close waits for none.
	sendWG sync.WaitGroup
}

// Option adjusts a Service; the defaults suit `authd run`, tests point the
// providers at local fakes.
type Option func(*options)

type options struct {
	publicURL   string
	apnsHost    string
	fcmEndpoint string
	tlsConfig   *tls.Config
	httpClient  *http.Client
	sendTimeout time.Duration
	maxPending  int
}

// WithPublicURL sets the reply address put in pushes and enrolment URIs,
// overriding server.http.public_url.
func WithPublicURL(u string) Option { return func(o *options) { o.publicURL = u } }

// WithAPNsHost sends APNs requests to host (https://...) instead of
// Apple's, for tests against a fake.
func WithAPNsHost(host string) Option { return func(o *options) { o.apnsHost = host } }

// WithFCMEndpoint sends FCM requests to endpoint (the base that replaces
// https://fcm.googleapis.com/v1), for tests against a fake.
func WithFCMEndpoint(u string) Option { return func(o *options) { o.fcmEndpoint = u } }

// WithTLSConfig sets the TLS client configuration of provider connections
// (a fake's root CA in tests).
func WithTLSConfig(c *tls.Config) Option { return func(o *options) { o.tlsConfig = c } }

// WithHTTPClient sets the client of webhook deliveries.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithSendTimeout bounds one delivery (default DefaultSendTimeout).
func WithSendTimeout(d time.Duration) Option { return func(o *options) { o.sendTimeout = d } }

// WithMaxPending changes the per-user limit of pending pushes (default
// MaxPending).
func WithMaxPending(n int) Option { return func(o *options) { o.maxPending = n } }

// New builds the push service over the engine's store and the
// configuration's push_provider blocks, and installs it as the engine's
// push service (eng.Services().Push) when eng is not nil. A provider that
// cannot be set up (an unreadable .p8 key or service-account file) is an
// error, so `authd run` refuses to start with it rather than failing at
// the first login.
func New(eng *engine.Engine, kv store.KV, cfg *dsl.Config, log *slog.Logger, opts ...Option) (*Service, error) {
	if kv == nil {
		return nil, errors.New("push: a store is required")
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Service{eng: eng, store: devices.New(kv), log: log.With("component", "push"), clock: engine.SystemClock{}, audit: audit.Discard}
	for _, o := range opts {
		o(&s.opts)
	}
	if s.opts.sendTimeout <= 0 {
		s.opts.sendTimeout = DefaultSendTimeout
	}
	if s.opts.maxPending == 0 {
		s.opts.maxPending = MaxPending
	}
	if s.opts.httpClient == nil {
		s.opts.httpClient = &http.Client{Timeout: s.opts.sendTimeout}
		if s.opts.tlsConfig != nil {
			s.opts.httpClient.Transport = &http.Transport{TLSClientConfig: s.opts.tlsConfig}
		}
	}
	if eng != nil {
		if c := eng.Services().Clock; c != nil {
			s.clock = c
		}
		if a := eng.Services().Audit; a != nil {
			s.audit = a
		}
	}
	if err := s.Reload(cfg); err != nil {
		return nil, err
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST "+wire.PathEnroll, s.handleEnroll)
	s.mux.HandleFunc("POST "+wire.PathRespond, s.handleRespond)
	s.mux.HandleFunc("GET "+wire.PathPending, s.handlePending)
	if eng != nil {
		eng.Services().Push = s
	}
	return s, nil
}

// Reload takes the push providers and public URL of a new configuration.
// On error the running providers stay.
func (s *Service) Reload(cfg *dsl.Config) error {
	ps, err := s.buildProviders(cfg)
	if err != nil {
		return err
	}
	old := s.providers.Swap(ps)
	if old != nil {
		old.close()
	}
	u := s.opts.publicURL
	if u == "" && cfg != nil {
		u = cfg.Server.HTTP.PublicURL
		if u == "" && cfg.Server.HTTP.Listen != "" {
			scheme := "http"
			if cfg.Server.HTTP.TLS != nil {
				scheme = "https"
			}
			u = scheme + "://" + cfg.Server.HTTP.Listen
		}
	}
	if u != "" {
		s.SetPublicURL(u)
	}
	return nil
}

// SetPublicURL sets the reply address when it is only known once the
// server listens (listen = "127.0.0.1:0" and no public_url).
func (s *Service) SetPublicURL(u string) {
	u = strings.TrimRight(u, "/")
	s.publicURL.Store(&u)
}

// PublicURL is the address devices are told to reach.
func (s *Service) PublicURL() string {
	if p := s.publicURL.Load(); p != nil {
		return *p
	}
	return ""
}

// Handler serves the device endpoints; mount it at the server root (it
// answers only below /api/v1/push/).
func (s *Service) Handler() http.Handler { return s.mux }

// Devices is the device repository, for the admin operations.
func (s *Service) Devices() *devices.Store { return s.store }

// Run sweeps old pushes and enrolment codes every interval until ctx
// ends, and meanwhile feeds the authd_push_pending gauge.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Minute
	}
	// The pending-push gauge counts what the store holds, so it is right
	// after a restart too; only the serving process installs it.
	metrics.SetPendingPushes(func() (int, error) { return s.store.PendingCount(s.clock.Now()) })
	defer metrics.SetPendingPushes(nil)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.store.Sweep(s.clock.Now().Add(-sweepGrace)); err != nil {
				s.log.Error("sweeping pushes", "err", err)
			} else if n > 0 {
				s.log.Debug("swept pushes and enrolment codes", "count", n)
			}
		}
	}
}

// Close waits for deliveries in flight and releases provider connections.
func (s *Service) Close() error {
	s.sendWG.Wait()
	if ps := s.providers.Load(); ps != nil {
		ps.close()
	}
	return nil
}

func (s *Service) wake(sessionID string) {
	if s.eng != nil && sessionID != "" {
		s.eng.Wake(sessionID)
	}
}

// realm returns the realm as the loaded program has it (nil when unknown).
func (s *Service) realm(name string) *engine.Realm {
	if s.eng == nil {
		return nil
	}
	if p := s.eng.Program(); p != nil {
		return p.Realms[name]
	}
	return nil
}

// ---- engine.PushService ----

// HasDevice implements engine.PushService: a live device whose provider
// the realm still lists (when the realm is known).
func (s *Service) HasDevice(_ context.Context, realm, user string) (bool, error) {
	ds, err := s.store.LiveDevices(realm, user)
	if err != nil {
		return false, err
	}
	r := s.realm(realm)
	for _, d := range ds {
		if r == nil || listed(r.PushProviders, d.Provider) {
			return true, nil
		}
	}
	return false, nil
}

func listed(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

func pushErr(reason string, err error) error { return &engine.PushError{Reason: reason, Err: err} }

// Send implements engine.PushService.
func (s *Service) Send(ctx context.Context, req *engine.PushRequest) (*engine.PushTicket, error) {
	if req == nil || req.Realm == nil {
		return nil, pushErr(engine.PushReasonStoreError, errors.New("no realm"))
	}
	if req.User == "" {
		return nil, pushErr(engine.PushReasonMissingUsername, errors.New("no user"))
	}
	now := req.Now
	if now.IsZero() {
		now = s.clock.Now()
	}
	if !req.Expires.After(now) {
		return nil, pushErr(engine.PushReasonTransmissionFailure, errors.New("the push would expire before it is sent"))
	}
	if len(req.Custom) > engine.MaxPushCustomPayload {
		return nil, pushErr(engine.PushReasonTransmissionFailure, fmt.Errorf("custom payload of %d bytes is over the %d-byte limit", len(req.Custom), engine.MaxPushCustomPayload))
	}
	live, err := s.store.LiveDevices(req.Realm.Name, req.User)
	if err != nil {
		return nil, pushErr(engine.PushReasonStoreError, err)
	}
	ps := s.providers.Load()
	var targets []target
	for _, d := range live {
		if !listed(req.Realm.PushProviders, d.Provider) {
			continue
		}
		p := ps.byName[d.Provider]
		if p == nil {
			s.log.Warn("a device's push provider is not configured", "realm", req.Realm.Name, "user", req.User, "device", d.ID, "provider", d.Provider)
			continue
		}
		targets = append(targets, target{dev: d, prov: p})
	}
	if len(targets) == 0 {
		return nil, pushErr(engine.PushReasonNotRegistered, errors.New("no live device the realm's providers reach"))
	}
	p := &devices.Push{
		ID: devices.NewID(18), Realm: req.Realm.Name, User: req.User, SessionID: req.SessionID,
		Type: req.Type, Challenge: devices.NewID(24), Message: req.Message, Context: req.Context,
		Custom: req.Custom, Issuer: req.Issuer, ReplyURL: s.PublicURL(),
		Created: now, Expires: req.Expires, State: devices.StatePending,
	}
	if p.Type == "" {
		p.Type = engine.PushTap
	}
	if p.Type == engine.PushChallenge {
		p.Numbers, p.Number = drawNumbers()
	}
	for _, t := range targets {
		p.Devices = append(p.Devices, t.dev.ID)
	}
	if err := s.store.CreatePush(p, s.opts.maxPending, now); err != nil {
		if errors.Is(err, devices.ErrTooManyPending) {
			s.log.Warn("push refused: too many pending pushes", "event", "push.too_many_pending", "realm", p.Realm, "user", p.User, "limit", s.opts.maxPending)
			return nil, pushErr(engine.PushReasonTooManyPending, err)
		}
		return nil, pushErr(engine.PushReasonStoreError, err)
	}
	s.notify.wake(p.Realm, p.User)

	delivered, gone, failures := s.deliver(ctx, p, targets, now)
	if delivered == 0 {
		state := "not_sent"
		_ = s.store.SetPushState(p.ID, devices.StateFailed, state)
		if gone == len(targets) {
			return nil, pushErr(engine.PushReasonNotRegistered, errors.New("every device is unregistered at its provider"))
		}
		return nil, pushErr(engine.PushReasonTransmissionFailure, errors.Join(failures...))
	}
	s.log.Info("push sent", "event", "push.sent", "realm", p.Realm, "user", p.User, "message", short(p.ID),
		"type", p.Type, "devices", delivered, "expires", p.Expires)
	return &engine.PushTicket{MessageID: p.ID, ChallengeNumber: p.Number, Expires: p.Expires, Devices: delivered}, nil
}

type target struct {
	dev  *devices.Device
	prov provider
}

// deliver hands the notification to every target's provider at once,
// each bounded by the send timeout and the push's expiry. Devices their
// provider no longer knows are marked dead.
func (s *Service) deliver(ctx context.Context, p *devices.Push, targets []target, now time.Time) (delivered, gone int, failures []error) {
	deadline := time.Now().Add(s.opts.sendTimeout)
	if exp := time.Now().Add(p.Expires.Sub(now)); exp.Before(deadline) {
		deadline = exp
	}
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	n := wire.Notification{MessageID: p.ID, URL: p.ReplyURL, Realm: p.Realm}
	type result struct {
		t   target
		err error
	}
	results := make(chan result, len(targets))
	for _, t := range targets {
		s.sendWG.Add(1)
		go func() {
			defer s.sendWG.Done()
			began := time.Now()
			err := t.prov.deliver(ctx, t.dev, p, n)
			metrics.PushSent(t.dev.Provider, sendResult(err), time.Since(began))
			results <- result{t, err}
		}()
	}
	for range targets {
		r := <-results
		var g *goneError
		switch {
		case r.err == nil:
			delivered++
		case errors.As(r.err, &g):
			gone++
			s.log.Warn("device unregistered at its provider; marked dead", "event", "push.device_dead",
				"realm", p.Realm, "user", p.User, "device", r.t.dev.ID, "provider", r.t.dev.Provider, "reason", g.reason)
			if err := s.store.MarkDead(r.t.dev.ID, g.reason, now); err != nil {
				s.log.Error("marking a device dead", "device", r.t.dev.ID, "err", err)
			}
		default:
			failures = append(failures, fmt.Errorf("%s: %w", r.t.dev.Provider, r.err))
			s.log.Warn("push delivery failed", "event", "push.delivery_failed", "realm", p.Realm, "user", p.User,
				"device", r.t.dev.ID, "provider", r.t.dev.Provider, "err", r.err)
		}
	}
	return delivered, gone, failures
}

// sendResult is the metrics label of a delivery's outcome: a fixed set,
// never the provider's own words.
func sendResult(err error) string {
	var g *goneError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &g):
		return "unregistered"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "error"
}

// drawNumbers returns three distinct numbers from 10 to 99 in random order
// and the one of them to show at login.
func drawNumbers() ([]int, int) {
	var nums []int
	for len(nums) < 3 {
		n := 10 + randInt(90)
		dup := false
		for _, m := range nums {
			dup = dup || m == n
		}
		if !dup {
			nums = append(nums, n)
		}
	}
	return nums, nums[randInt(3)]
}

func randInt(n int) int {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int(binary.BigEndian.Uint64(b[:]) % uint64(n))
}

// PushStatus implements engine.PushService.
func (s *Service) PushStatus(ctx context.Context, realm, user, id string, now time.Time) (*engine.PushStatus, error) {
	// An answer in flight is read from memory when this request commits
	// it with its own save (see answer); otherwise it is waited for.
	p, ok, err := s.tentative(ctx, realm, user, id)
	if err != nil {
		return nil, pushErr(engine.PushReasonStoreError, err)
	}
	if !ok {
		p, err = s.store.Push(id, now)
	}
	if errors.Is(err, devices.ErrNotFound) || (err == nil && (p.Realm != realm || p.User != user)) {
		return nil, pushErr(engine.PushReasonNotFound, errors.New("no such push for this user"))
	}
	if err != nil {
		return nil, pushErr(engine.PushReasonStoreError, err)
	}
	st := &engine.PushStatus{ChallengeNumber: p.Number, Expires: p.Expires, Device: p.AnsweredBy, Reason: p.Reason}
	switch p.State {
	case devices.StatePending:
		st.State = engine.PushPending
	case devices.StateApproved:
		st.State = engine.PushApproved
	case devices.StateExpired:
		st.State = engine.PushExpired
	default: // denied, failed
		st.State = engine.PushDenied
		if st.Reason == "" {
			st.Reason = p.State
		}
	}
	return st, nil
}

// CancelPush implements engine.PushService.
func (s *Service) CancelPush(_ context.Context, realm, user, id string, now time.Time) error {
	_, err := s.store.Decide(id, devices.Answerer{Realm: realm, User: user}, now, func(p *devices.Push) error {
		p.State, p.Reason = devices.StateDenied, devices.ReasonCancelled
		return nil
	})
	switch {
	case err == nil:
		s.log.Info("push withdrawn", "event", "push.cancelled", "realm", realm, "user", user, "message", short(id))
		return nil
	case errors.Is(err, devices.ErrNotPending), errors.Is(err, devices.ErrExpired), errors.Is(err, devices.ErrNotFound), errors.Is(err, devices.ErrNotAnswerer):
		return nil
	}
	return err
}

// BeginEnrollment implements engine.PushService.
func (s *Service) BeginEnrollment(_ context.Context, req *engine.EnrollmentRequest) (*engine.EnrollmentTicket, error) {
	if req == nil || req.Realm == nil || req.User == "" {
		return nil, errors.New("push: enrolment needs a realm and a user")
	}
	pub := s.PublicURL()
	if pub == "" {
		return nil, errors.New("push: no public URL is known (set server.http.public_url)")
	}
	ps := s.providers.Load()
	platforms := map[string]string{}
	for _, name := range req.Realm.PushProviders {
		if p := ps.byName[name]; p != nil {
			if _, dup := platforms[p.platform()]; !dup {
				platforms[p.platform()] = name
			}
		}
	}
	if len(platforms) == 0 {
		return nil, fmt.Errorf("push: realm %q lists no configured push provider", req.Realm.Name)
	}
	mode := req.Realm.EnrollmentMode
	if mode == "" {
		mode = devices.SingleDevice
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	now := req.Now
	if now.IsZero() {
		now = s.clock.Now()
	}
	e := &devices.Enrollment{
		ID: devices.NewID(18), Realm: req.Realm.Name, User: req.User, SessionID: req.SessionID,
		Issuer: req.Issuer, Secret: secret, Mode: mode, Providers: platforms, ServerURL: pub,
		Created: now, Expires: req.Expires, State: devices.EnrollPending,
	}
	if err := s.store.CreateEnrollment(e); err != nil {
		return nil, err
	}
	uri := (&wire.EnrollURI{URL: pub, Realm: e.Realm, User: e.User, Issuer: e.Issuer, ID: e.ID, Secret: secret}).String()
	s.log.Info("enrolment code issued", "event", "push.enrollment_issued", "realm", e.Realm, "user", e.User, "enrollment", short(e.ID), "expires", e.Expires)
	return &engine.EnrollmentTicket{ID: e.ID, URI: uri, Expires: e.Expires}, nil
}

// EnrollmentStatus implements engine.PushService.
func (s *Service) EnrollmentStatus(_ context.Context, realm, user, id string, now time.Time) (*engine.EnrollmentStatus, error) {
	e, err := s.store.Enrollment(id, now)
	if errors.Is(err, devices.ErrNotFound) || (err == nil && (e.Realm != realm || e.User != user)) {
		return &engine.EnrollmentStatus{State: engine.EnrollmentNotFound}, nil
	}
	if err != nil {
		return nil, err
	}
	st := &engine.EnrollmentStatus{Reason: e.Reason, Device: e.DeviceID}
	switch e.State {
	case devices.EnrollPending:
		st.State = engine.EnrollmentPending
	case devices.EnrollDone:
		st.State = engine.EnrollmentDone
	case devices.EnrollExpired:
		st.State = engine.EnrollmentExpired
	default:
		st.State = engine.EnrollmentRefused
		if st.Reason == "" {
			st.Reason = e.State
		}
	}
	return st, nil
}

// short abbreviates an id for logs.
func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

var _ engine.PushService = (*Service)(nil)
