package ratelimit

import (
	"net"
	"net/http"
	"time"

	"github.com/authd/authd/engine/metrics"
)

// Middleware refuses requests over l's rate per client address with 429
// Too Many Requests and a Retry-After header, and counts them in
// authd_rate_limited_total{frontend, scope="ip"}. A nil l passes
// everything through. The client address is the connection's peer:
// behind a reverse proxy every request shares the proxy's bucket, so
// either raise the limit or limit at the proxy.
func (l *Limiter) Middleware(frontend string, next http.Handler) http.Handler {
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := l.Allow(IPKey(PeerIP(r)), time.Now()); !ok {
			metrics.RateLimited(frontend, "ip")
			w.Header().Set("Retry-After", RetryAfterSeconds(wait))
			http.Error(w, "too many requests; retry later", http.StatusTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// PeerIP is the address of the connection a request came on.
func PeerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
