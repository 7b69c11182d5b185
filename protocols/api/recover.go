package api

import (
	"html"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/authd/authd/engine"
)

// Recover answers a request whose handler panicked (a bug, or a fault of
// the store) with a 500 and the error body every other failure has (a
// plain page for a browser, which would show JSON raw), and
// logs the panic with the request's id, so the client and the operator
// can find each other in the log. Left to net/http, the connection would
// just be cut: a browser shows a network error and a gateway in front
// (nginx forward-auth) a 502, with the stack only on stderr. A panic after
// the answer began cannot be turned into a 500; the connection is cut, as
// net/http would, so a truncated answer is never taken for a whole one.
// http.ErrAbortHandler, net/http's own way to cut a connection, passes
// through. `authd run` wraps every HTTP front end with it, inside
// RequestIDs.
func Recover(log *slog.Logger, next http.Handler) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &startTracker{ResponseWriter: w}
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			log.ErrorContext(r.Context(), "panic while serving a request",
				"panic", p, "method", r.Method, "path", r.URL.Path,
				"request_id", engine.RequestIDFrom(r.Context()), "stack", string(debug.Stack()))
			if tw.started {
				panic(http.ErrAbortHandler)
			}
			// What the handler set for its own answer (a cookie, a
			// length, a type) is not the 500's; the request id is.
			h := w.Header()
			rid := h.Get(RequestIDHeader)
			clear(h)
			if rid != "" {
				h.Set(RequestIDHeader, rid)
			}
			if wantsHTML(r) {
				writeErrorPage(w, rid)
				return
			}
			writeServerError(w)
		}()
		next.ServeHTTP(tw, r)
	})
}

// wantsHTML reports a browser's request (a login page, an OAuth redirect):
// it gets a page, not JSON it would show raw.
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// writeErrorPage is the browser's 500: self-contained (no stylesheet, no
// script, nothing a broken server would have to serve too), with the
// request id for the user to quote to an administrator.
func writeErrorPage(w http.ResponseWriter, requestID string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(http.StatusInternalServerError)
	ref := ""
	if requestID != "" {
		ref = "<p>If it happens again, give your administrator this reference: <code>" + html.EscapeString(requestID) + "</code></p>\n"
	}
	io.WriteString(w, "<!doctype html>\n<html lang=\"en\"><meta charset=\"utf-8\"><title>Something went wrong</title>\n"+
		"<h1>Something went wrong</h1>\n<p>The server could not complete this request. Please try again.</p>\n"+ref+"</html>\n")
}

// startTracker records whether the answer began. Unwrap keeps
// http.ResponseController (flush, hijack, deadlines) reaching the
// connection's own writer.
type startTracker struct {
	http.ResponseWriter
	started bool
}

func (t *startTracker) WriteHeader(code int) {
	if code >= 200 { // 1xx are interim: the answer has not begun
		t.started = true
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *startTracker) Write(b []byte) (int, error) {
	t.started = true
	return t.ResponseWriter.Write(b)
}

// Flush sends the header, so the answer has begun: without this method
// http.ResponseController would flush through Unwrap unseen, and a panic
// after it would be answered with a 500 body under the 200 already sent.
func (t *startTracker) Flush() {
	t.started = true
	http.NewResponseController(t.ResponseWriter).Flush()
}

func (t *startTracker) Unwrap() http.ResponseWriter { return t.ResponseWriter }
