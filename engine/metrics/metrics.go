// Package metrics holds authd's Prometheus collectors and the one-line
// calls every part of authd records through.
//
// It lives under engine, not protocols, because the engine itself records
// (journey outcomes, node latency) and the import rules let nodes, dsl,
// protocols and cmd all import engine packages, while protocols may not
// import each other. The collectors are registered on Registry, authd's
// own registry rather than Prometheus's global one, so /metrics shows
// exactly what authd documents (docs/operations.md) plus the Go runtime
// and process collectors.
//
// Every function here is safe for concurrent use and cheap enough for the
// hot path; none of them ever takes a user name, session id or secret as a
// label, so a scrape cannot leak who logged in, and label cardinality is
// bounded by the configuration (journeys, nodes, front ends, providers).
package metrics

import (
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "authd"

// Registry is the registry /metrics serves.
var Registry = prometheus.NewRegistry()

// Latency buckets: node and store latencies sit in microseconds to
// seconds; push answers are human time (seconds to minutes).
var (
	fastBuckets  = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	humanBuckets = []float64{1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300}
)

var (
	requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "requests_total",
		Help: "Requests answered, by front end (api, radius, oauth, push, ...) and result.",
	}, []string{"frontend", "result"})
	requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "request_duration_seconds",
		Help:    "Time to answer a request, by front end; RADIUS requests held for a push count until their answer.",
		Buckets: fastBuckets,
	}, []string{"frontend"})
	journeys = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "journeys_total",
		Help: "Journeys that ended, by journey, outcome (success, failure, error) and the node they ended at.",
	}, []string{"journey", "outcome", "node"})
	sessionsStarted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "sessions_started_total",
		Help: "Journeys started, by journey.",
	}, []string{"journey"})
	nodeDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "node_duration_seconds",
		Help:    "Time one node took to process, by journey, node and node type.",
		Buckets: fastBuckets,
	}, []string{"journey", "node", "type"})
	nodeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "node_errors_total",
		Help: "Node faults (store errors, bugs; not denials), by journey, node and node type.",
	}, []string{"journey", "node", "type"})
	radiusDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "radius_dropped_total",
		Help: "RADIUS packets dropped without an answer, by reason.",
	}, []string{"reason"})
	pushSend = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "push_send_duration_seconds",
		Help:    "Time to hand one push notification to its provider, by provider and result.",
		Buckets: fastBuckets,
	}, []string{"provider", "result"})
	pushAnswer = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "push_answer_seconds",
		Help:    "Time from sending a push to the device's answer, by answer (approved, denied, expired).",
		Buckets: humanBuckets,
	}, []string{"answer"})
	pushProviderErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "push_provider_errors_total",
		Help: "Push deliveries a provider refused or failed, by provider and kind (unregistered, timeout, rejected, ...).",
	}, []string{"provider", "kind"})
	pushRejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "push_rejected_answers_total",
		Help: "Device answers authd refused (bad signature, wrong device, replay, expired, ...), by reason.",
	}, []string{"reason"})
	storeTx = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "store_tx_duration_seconds",
		Help:    "Store transaction latency (commit and fsync included), by kind (view, update, batch).",
		Buckets: fastBuckets,
	}, []string{"op"})
	storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "store_errors_total",
		Help: "Store transactions that failed in the store itself (not the caller's own refusal), by kind.",
	}, []string{"op"})
	auditEntries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "audit_entries_total",
		Help: "Audit log entries written, by kind.",
	}, []string{"kind"})
	auditErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "audit_write_errors_total",
		Help: "Audit entries that could not be written to the store (each is also logged).",
	})
	rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "rate_limited_total",
		Help: "Requests refused by a rate limit, by front end and scope (ip, user).",
	}, []string{"frontend", "scope"})
	reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "config_reloads_total",
		Help: "Configuration reloads, by result (applied, unchanged, refused).",
	}, []string{"result"})
	lastReload = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "config_last_reload_timestamp_seconds",
		Help: "When the configuration being served was loaded (Unix time).",
	})
	configInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "config_info",
		Help: "Always 1; the revision label is the content hash of the configuration being served.",
	}, []string{"revision"})
	buildInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help: "Always 1; labels name the running build.",
	}, []string{"version", "goversion"})

	pendingSessions = &gaugeFunc{desc: prometheus.NewDesc(namespace+"_sessions_pending",
		"Suspended sessions in the store that have not finished (expired ones count until swept).", nil, nil)}
	heldRADIUS = &gaugeFunc{desc: prometheus.NewDesc(namespace+"_radius_held_requests",
		"RADIUS Access-Requests held open while their journey waits (a push answer).", nil, nil)}
	parkedAPI = &gaugeFunc{desc: prometheus.NewDesc(namespace+"_api_parked_requests",
		"Journey API long polls parked (taken over from the HTTP server) while their journey waits.", nil, nil)}
	pendingPushes = &gaugeFunc{desc: prometheus.NewDesc(namespace+"_push_pending",
		"Pushes sent and not yet answered or expired.", nil, nil)}
)

func init() {
	Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		requests, requestDuration, journeys, sessionsStarted, nodeDuration, nodeErrors,
		radiusDropped, pushSend, pushAnswer, pushProviderErrors, pushRejected,
		storeTx, storeErrors, auditEntries, auditErrors, rateLimited,
		reloads, lastReload, configInfo, buildInfo,
		pendingSessions, heldRADIUS, parkedAPI, pendingPushes,
	)
}

// Handler serves Registry in the Prometheus text format. Collection
// errors are served as far as possible rather than failing the scrape.
func Handler() http.Handler {
	return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Request counts one answered request of a front end (engine.FrontendAPI,
// engine.FrontendRADIUS, ...) with its result, such as "success",
// "failure", "challenge", "bad_request", "rate_limited" or "error".
func Request(frontend, result string) {
	requests.WithLabelValues(frontend, result).Inc()
}

// RequestDone is Request plus the time the answer took.
func RequestDone(frontend, result string, d time.Duration) {
	requests.WithLabelValues(frontend, result).Inc()
	requestDuration.WithLabelValues(frontend).Observe(d.Seconds())
}

// JourneyStarted counts a new session of journey.
func JourneyStarted(journey string) { sessionsStarted.WithLabelValues(journey).Inc() }

// JourneyEnded counts a journey's end: its outcome ("success", "failure";
// "error" when the store failed) and the node it ended at.
func JourneyEnded(journey, outcome, node string) {
	journeys.WithLabelValues(journey, outcome, node).Inc()
}

// NodeDone observes one Process call of a node; fault is set when it
// returned an error (or panicked).
func NodeDone(journey, node, nodeType string, d time.Duration, fault bool) {
	nodeDuration.WithLabelValues(journey, node, nodeType).Observe(d.Seconds())
	if fault {
		nodeErrors.WithLabelValues(journey, node, nodeType).Inc()
	}
}

// RADIUSDropped counts a packet dropped without an answer. reason must be
// one of a fixed set of phrases (never an address or user name).
func RADIUSDropped(reason string) { radiusDropped.WithLabelValues(reason).Inc() }

// PushSent observes one delivery to a provider (its push_provider name);
// result is "ok", "unregistered" or "error". A failed delivery also counts
// in push_provider_errors_total under kind = result, or under kind when
// PushProviderError is called with a finer one.
func PushSent(provider, result string, d time.Duration) {
	pushSend.WithLabelValues(provider, result).Observe(d.Seconds())
	if result != "ok" {
		pushProviderErrors.WithLabelValues(provider, result).Inc()
	}
}

// PushProviderError counts a provider failure outside a timed delivery
// (a token refresh, a connection that could not be set up).
func PushProviderError(provider, kind string) {
	pushProviderErrors.WithLabelValues(provider, kind).Inc()
}

// PushAnswered observes the time from sending a push to its answer
// ("approved", "denied", "expired").
func PushAnswered(answer string, sinceSent time.Duration) {
	pushAnswer.WithLabelValues(answer).Observe(sinceSent.Seconds())
}

// PushRejected counts a device answer authd refused, by a fixed reason
// ("bad_signature", "wrong_device", "replayed", "expired", ...).
func PushRejected(reason string) { pushRejected.WithLabelValues(reason).Inc() }

// AuditWritten counts an audit entry of kind; AuditFailed one that could
// not be written.
func AuditWritten(kind string) { auditEntries.WithLabelValues(kind).Inc() }

// AuditFailed counts an audit entry lost to a store error.
func AuditFailed() { auditErrors.Inc() }

// RateLimited counts a request refused by a rate limit; scope is "ip" or
// "user".
func RateLimited(frontend, scope string) { rateLimited.WithLabelValues(frontend, scope).Inc() }

// ConfigLoaded records the revision now served; result is "applied"
// (first load or a changed reload), "unchanged" or "refused".
func ConfigLoaded(revision, result string, now time.Time) {
	reloads.WithLabelValues(result).Inc()
	if result != "applied" {
		return
	}
	configInfo.Reset()
	configInfo.WithLabelValues(shortRev(revision)).Set(1)
	lastReload.Set(float64(now.Unix()))
}

// SetBuildInfo records the running build's version.
func SetBuildInfo(version string) {
	buildInfo.Reset()
	buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
}

// SetPendingSessions installs the function counting suspended sessions;
// it runs on every scrape, so it should be cheap or cached. nil removes it.
func SetPendingSessions(f func() (int, error)) { pendingSessions.set(f) }

// SetHeldRADIUS installs the function counting held RADIUS requests
// (radius.Server.Held). nil removes it.
func SetHeldRADIUS(f func() int) { heldRADIUS.set(noErr(f)) }

// SetParkedAPI installs the function counting parked journey API long
// polls (api.Handler.Parked). nil removes it.
func SetParkedAPI(f func() int) { parkedAPI.set(noErr(f)) }

// SetPendingPushes installs the function counting pushes waiting for an
// answer. nil removes it.
func SetPendingPushes(f func() (int, error)) { pendingPushes.set(f) }

func noErr(f func() int) func() (int, error) {
	if f == nil {
		return nil
	}
	return func() (int, error) { return f(), nil }
}

func shortRev(r string) string {
	if len(r) > 12 {
		return r[:12]
	}
	return r
}

// gaugeFunc is a gauge read from a function that is installed (and
// replaced) at run time, so the collector can be registered once at init
// while the server it reads from comes and goes (tests start several).
type gaugeFunc struct {
	desc *prometheus.Desc
	f    atomic.Pointer[func() (int, error)]
}

func (g *gaugeFunc) set(f func() (int, error)) {
	if f == nil {
		g.f.Store(nil)
		return
	}
	g.f.Store(&f)
}

func (g *gaugeFunc) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g *gaugeFunc) Collect(ch chan<- prometheus.Metric) {
	p := g.f.Load()
	if p == nil {
		return
	}
	n, err := (*p)()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(g.desc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, float64(n))
}
