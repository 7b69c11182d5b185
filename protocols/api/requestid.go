package api

import (
	"net/http"

	"github.com/authd/authd/engine"
)

// RequestIDHeader carries a request's id both ways: a client or proxy may
// send one (it is kept when it looks sane), and every answer names the
// one used, so a user's report can be matched to the log lines and the
// audit entry.
const RequestIDHeader = "X-Request-Id"

// RequestIDs gives every request an id before next sees it: the client's
// X-Request-Id when it is 1-64 characters of [A-Za-z0-9._-], else a new
// one. The id is in the request's context (engine.RequestIDFrom) and in
// the answer's X-Request-Id header. `authd run` wraps every HTTP front
// end with it.
func RequestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !saneID(id) {
			id = engine.NewRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(engine.ContextWithRequestID(r.Context(), id)))
	})
}

func saneID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
