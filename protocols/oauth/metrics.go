package oauth

import (
	"net/http"
	"strings"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/metrics"
	"github.com/authd/authd/engine/ratelimit"
	"github.com/authd/authd/engine/users"
)

// statusWriter remembers the status and Location a handler answered with,
// for the request metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// counted records every answer of h in authd_requests_total and
// authd_request_duration_seconds under the oauth front end. The result
// comes from the answer: "success" (2xx, or a redirect that is not an
// error redirect), "failure" (an OAuth error: 400, 401, 403, or a redirect
// carrying error=), "bad_request" (other 4xx), "rate_limited" (429) and
// "error" (5xx).
func counted(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h(sw, r)
		metrics.RequestDone(engine.FrontendOAuth, resultOf(sw.status, w.Header().Get("Location")), time.Since(began))
	}
}

func resultOf(status int, location string) string {
	switch {
	case status == 0 || status < 300:
		return "success"
	case status < 400:
		if strings.Contains(location, "error=") {
			return "failure"
		}
		return "success"
	case status == http.StatusBadRequest || status == http.StatusUnauthorized || status == http.StatusForbidden:
		return "failure"
	case status == http.StatusTooManyRequests:
		return "rate_limited"
	case status < 500:
		return "bad_request"
	default:
		return "error"
	}
}

// userLimited takes one token of the per-user limit (Config.UserLimit,
// shared with the journey API: the key is realm and user name) for an
// answer that carries a password or code. The name is trimmed as the
// credentials node trims it, so " alice" is alice here too, not a fresh
// budget. When none is left it sets Retry-After, counts the refusal and
// reports false.
func (p *Provider) userLimited(w http.ResponseWriter, realm, user string) (wait time.Duration, limited bool) {
	lim := p.userLim.Load()
	user = users.AnsweredName(user)
	if lim == nil || user == "" {
		return 0, false
	}
	if len(user) > 256 {
		user = user[:256]
	}
	ok, wait := lim.Allow(realm+"\x00"+user, time.Now())
	if ok {
		return 0, false
	}
	metrics.RateLimited(engine.FrontendOAuth, "user")
	w.Header().Set("Retry-After", ratelimit.RetryAfterSeconds(wait))
	return wait, true
}
