// Package api is the journey API: JSON over HTTP, the reference front end
// every other front end is measured against (see docs/api.md). It only
// translates; the engine decides.
//
// A journey an api_client lists is started only by api_clients, through
// the portal endpoint (portal.go); this one refuses to start it, but
// resumes its sessions by id (Options.APIClients).
//
// Abuse limits: every request counts against its client address's rate
// (Options.IPLimit), and every answer that carries a password or code
// counts against the user's (Options.UserLimit, keyed on the name as the
// nodes read it), so guessing a password is slow even from many addresses
// and name spellings; both answer 429 with
// Retry-After. Bodies are capped at MaxBodyBytes (400 invalid_request). Slow clients are
// the http.Server's business (authd run sets read, header and write
// timeouts).
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/metrics"
	"github.com/authd/authd/engine/ratelimit"
	"github.com/authd/authd/engine/users"
)

// MaxBodyBytes bounds a request body; a journey answer is a few hundred bytes.
const MaxBodyBytes = 64 << 10

// Handler serves the journey API.
type Handler struct {
	eng     *engine.Engine
	log     *slog.Logger
	mux     *http.ServeMux
	ipLim   *ratelimit.Limiter
	userLim *ratelimit.Limiter
	maxBody int64
	now     func() time.Time
	clients func() map[string]*dsl.APIClient // nil: none
	parking parking                          // long polls taken over from net/http (park.go)
}

// Options tune the journey API beyond New's defaults.
type Options struct {
	Log *slog.Logger
	// IPLimit bounds requests per client address (nil: none). `authd run`
	// shares one limiter between every HTTP front end.
	IPLimit *ratelimit.Limiter
	// UserLimit bounds answers carrying a password or code per realm and
	// user name (nil: none).
	UserLimit *ratelimit.Limiter
	// MaxBodyBytes bounds a request body (default MaxBodyBytes).
	MaxBodyBytes int64
	// Now is the limiters' clock (default time.Now).
	Now func() time.Time
	// APIClients returns the api_clients being served (the portal
	// endpoint's, read per request so a reload applies at once). A journey
	// one of them lists trusts the user name it is given (the application
	// authenticated its user already): started here by anyone, it would
	// send pushes or codes to any user, tell who exists, and take the
	// success of a careless approval. This endpoint therefore refuses to
	// start it; a session an api_client started is still resumed (and
	// long-polled) here by its id, which only the client knows.
	APIClients func() map[string]*dsl.APIClient
}

// New returns the journey API over eng with no rate limits. Mount it at
// the server root: it answers only below /api/v1/realms/.
func New(eng *engine.Engine, log *slog.Logger) *Handler {
	return NewWithOptions(eng, Options{Log: log})
}

// NewWithOptions returns the journey API over eng with o's limits.
func NewWithOptions(eng *engine.Engine, o Options) *Handler {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = MaxBodyBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &Handler{eng: eng, log: o.Log, mux: http.NewServeMux(), ipLim: o.IPLimit, userLim: o.UserLimit, maxBody: o.MaxBodyBytes, now: o.Now, clients: o.APIClients}
	h.mux.HandleFunc("POST /api/v1/realms/{realm}/journeys/{journey}/authenticate", h.authenticate)
	return h
}

// ServeHTTP routes to the API's endpoints.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// authenticateRequest starts ({}) or resumes a session.
type authenticateRequest struct {
	Session   string            `json:"session,omitempty"`
	Callbacks []engine.Callback `json:"callbacks,omitempty"`
}

// Suspended is the answer while a journey waits for the client.
type Suspended struct {
	Session   string            `json:"session"`
	Node      string            `json:"node"`
	Callbacks []engine.Callback `json:"callbacks"`
	// Until is when a wait callback's time is up (RFC 3339), if any.
	Until string `json:"until,omitempty"`
}

// Finished is the answer once a journey ended. On failure it never names
// the user, so it cannot tell whether the user exists.
type Finished struct {
	Outcome string `json:"outcome"`
	User    string `json:"user,omitempty"`
	Reason  string `json:"reason"`
}

// Error is the body of every 4xx/5xx answer. Callback names the callback at
// fault when the answers were wrong; Field names a JSON field.
type Error struct {
	Error    string `json:"error"`
	Message  string `json:"message"`
	Callback string `json:"callback,omitempty"`
	Field    string `json:"field,omitempty"`
}

func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) {
	began := time.Now()
	result := "error"
	defer func() {
		if result != resultParked { // a parked request records itself when it is answered
			metrics.RequestDone(engine.FrontendAPI, result, time.Since(began))
		}
	}()

	id := engine.RequestIDFrom(r.Context())
	if id == "" {
		id = engine.NewRequestID()
		r = r.WithContext(engine.ContextWithRequestID(r.Context(), id))
		w.Header().Set(RequestIDHeader, id)
	}
	realm, journey := r.PathValue("realm"), r.PathValue("journey")
	req := engine.Request{
		Protocol:  engine.FrontendAPI,
		ClientIP:  clientIP(r),
		UserAgent: r.UserAgent(),
		Locale:    locale(r.Header.Get("Accept-Language")),
		RequestID: id,
	}
	if ok, wait := h.ipLim.Allow(ratelimit.IPKey(req.ClientIP), h.now()); !ok {
		result = "rate_limited"
		h.limited(w, "ip", wait)
		return
	}
	var in authenticateRequest
	if err := decodeBody(w, r, &in, h.maxBody); err != nil {
		result = "bad_request"
		writeJSON(w, http.StatusBadRequest, err)
		return
	}
	var (
		resp *engine.Response
		err  error
	)
	if in.Session == "" {
		if len(in.Callbacks) > 0 {
			result = "bad_request"
			writeJSON(w, http.StatusBadRequest, &Error{Error: "invalid_request", Field: "session", Message: "callbacks were sent without the session they answer"})
			return
		}
		if h.startedByClients(realm, journey) {
			result = "forbidden"
			writeJSON(w, http.StatusForbidden, &Error{Error: "forbidden", Message: "journey " + journey +
				" is started by API clients only (POST " + strings.TrimSuffix(r.URL.Path, "/authenticate") + "/start with the client's basic auth); a session one started is resumed here with its id"})
			return
		}
		resp, err = h.eng.Start(r.Context(), realm, journey, req)
	} else {
		// A session is only resumed through the realm and journey it
		// started on; anything else looks like an unknown session.
		s, serr := h.eng.Session(in.Session)
		if serr == nil && (s.Realm != realm || !startedAs(s, journey)) {
			serr = &engine.SessionError{ID: in.Session, Err: engine.ErrSessionNotFound}
		}
		if serr == nil {
			if user, guess := credentialAnswer(s, in.Callbacks); guess {
				if ok, wait := h.userLim.Allow(realm+"\x00"+user, h.now()); !ok {
					result = "rate_limited"
					h.limited(w, "user", wait)
					return
				}
			}
		}
		wait, werr := longPollWait(r)
		if werr != nil {
			result = "bad_request"
			writeJSON(w, http.StatusBadRequest, werr)
			return
		}
		switch {
		case serr != nil:
			err = serr
		case h.park(w, r, s, in.Callbacks, req, wait, began): // park.go
			result = resultParked
			return
		default:
			resp, err = h.resume(r.Context(), s, in.Callbacks, req, wait) // longpoll.go
		}
	}
	result = h.reply(w, r.Context(), r.URL.Path, req, resp, err)
}

// startedByClients reports whether journey of realm is one an api_client
// starts (Options.APIClients), which this endpoint must not start. A
// journey unknown in realm is left to Start, which answers 404 as for any
// other.
func (h *Handler) startedByClients(realm, journey string) bool {
	p := h.eng.Program()
	if p == nil || h.clients == nil {
		return false
	}
	if j := p.Journeys[journey]; j == nil || j.Realm != realm {
		return false
	}
	for _, c := range h.clients() {
		if slices.Contains(c.Journeys, journey) {
			return true
		}
	}
	return false
}

// reply answers a start or resume of the request to path, and returns the
// result label for the metrics.
func (h *Handler) reply(w http.ResponseWriter, ctx context.Context, path string, req engine.Request, resp *engine.Response, err error) string {
	if err != nil {
		return h.writeError(w, ctx, path, err)
	}
	if !resp.Done {
		out := Suspended{Session: resp.Session, Node: resp.Node, Callbacks: resp.Callbacks}
		if !resp.Until.IsZero() {
			out.Until = resp.Until.UTC().Format(time.RFC3339)
		}
		writeJSON(w, http.StatusOK, out)
		return "suspended"
	}
	out := Finished{Outcome: string(resp.Outcome), Reason: "authentication failed"}
	if resp.Outcome == engine.Success {
		out.User, out.Reason = resp.User, "authenticated"
	}
	// The engine writes the audit entry; this line is for debugging.
	realm := ""
	if resp.State != nil {
		realm = resp.State.Realm
	}
	h.log.DebugContext(ctx, "journey finished", "realm", realm, "journey", resp.Journey, "outcome", resp.Outcome,
		"user", resp.User, "reason", resp.Reason, "client_ip", req.ClientIP, "path", strings.Join(resp.Path, ">"), "request_id", req.RequestID)
	writeJSON(w, http.StatusOK, out)
	return string(resp.Outcome)
}

// credentialAnswer reports whether answers carry a password or code for s
// (a guess worth limiting), and the user it is about: the name answered
// with it, as the nodes read it (users.AnsweredName), else the session's user, else
// "" (all anonymous guesses of a realm share one bucket, which only
// matters when a journey asks for a password before a name).
func credentialAnswer(s *engine.Session, answers []engine.Callback) (string, bool) {
	user, guess := s.User, false
	for i, a := range answers {
		if a.Value == nil {
			continue
		}
		typ := ""
		if a.ID != "" {
			for _, p := range s.Pending {
				if p.ID == a.ID {
					typ = p.Type
					break
				}
			}
		} else if i < len(s.Pending) {
			typ = s.Pending[i].Type
		}
		switch typ {
		case engine.CallbackName:
			if name := users.AnsweredName(*a.Value); name != "" {
				user = name
			}
		case engine.CallbackPassword, engine.CallbackCode:
			// A blank code asks for a push instead: not a guess.
			guess = guess || *a.Value != ""
		}
	}
	if len(user) > 256 {
		user = user[:256]
	}
	return user, guess
}

// limited answers 429 with Retry-After.
func (h *Handler) limited(w http.ResponseWriter, scope string, wait time.Duration) {
	metrics.RateLimited(engine.FrontendAPI, scope)
	secs := ratelimit.RetryAfterSeconds(wait)
	w.Header().Set("Retry-After", secs)
	writeJSON(w, http.StatusTooManyRequests, &Error{Error: "rate_limited", Message: "too many attempts; retry in " + secs + "s"})
}

// startedAs reports whether the session belongs to the journey of the URL:
// the outermost journey, which is the first frame while an inner one runs.
func startedAs(s *engine.Session, journey string) bool {
	if len(s.Stack) > 0 {
		return s.Stack[0].Journey == journey
	}
	return s.Journey == journey
}

// writeError answers err to the request to path and returns the result
// label for the metrics.
func (h *Handler) writeError(w http.ResponseWriter, ctx context.Context, path string, err error) string {
	var (
		nf *engine.NotFoundError
		ae *engine.AnswerError
	)
	switch {
	case errors.As(err, &nf):
		writeJSON(w, http.StatusNotFound, &Error{Error: "not_found", Message: nf.Error()})
		return "not_found"
	case errors.As(err, &ae):
		writeJSON(w, http.StatusBadRequest, &Error{Error: "invalid_callbacks", Callback: ae.Callback, Message: ae.Error()})
		return "bad_request"
	case errors.Is(err, engine.ErrSessionNotFound):
		writeJSON(w, http.StatusNotFound, &Error{Error: "session_not_found", Field: "session", Message: "unknown session: it was never issued or has been swept"})
	case errors.Is(err, engine.ErrSessionExpired):
		writeJSON(w, http.StatusGone, &Error{Error: "session_expired", Field: "session", Message: "the session expired; start again"})
	case errors.Is(err, engine.ErrSessionFinished):
		writeJSON(w, http.StatusConflict, &Error{Error: "session_finished", Field: "session", Message: "the session already finished and cannot be resumed"})
	case errors.Is(err, engine.ErrSessionBusy):
		writeJSON(w, http.StatusConflict, &Error{Error: "session_busy", Field: "session", Message: "another request is advancing this session; retry"})
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		// The client went away (or the server is shutting down): nobody
		// reads the answer.
		writeJSON(w, http.StatusServiceUnavailable, &Error{Error: "unavailable", Message: "the request was cancelled"})
		return "cancelled"
	default:
		// A store failure (a full disk) lands here: this request fails,
		// the session stays as it was, and the server keeps serving.
		h.log.ErrorContext(ctx, "journey API", "path", path, "err", err, "request_id", engine.RequestIDFrom(ctx))
		writeServerError(w)
		return "error"
	}
	return "session_error"
}

// writeServerError is the answer to a fault (a failing store, a bug): the
// details stay in the server log, under the request's id.
func writeServerError(w http.ResponseWriter) {
	writeJSON(w, http.StatusInternalServerError, &Error{Error: "server_error", Message: "internal error; see the server log"})
}

// decodeBody reads one JSON object, refusing unknown fields, trailing data
// and bodies over MaxBodyBytes, with an error that names the field.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, limit int64) *Error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &Error{Error: "invalid_request", Message: "Content-Type must be application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &Error{Error: "invalid_request", Message: "request body larger than " + strconv.FormatInt(limit, 10) + " bytes"}
		}
		return &Error{Error: "invalid_request", Message: "request body unreadable"}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil // an empty body starts, like {}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &ute):
			return &Error{Error: "invalid_request", Field: ute.Field, Message: "field " + ute.Field + " must be a " + ute.Type.String()}
		case errors.As(err, &se):
			return &Error{Error: "invalid_request", Message: "malformed JSON: " + se.Error()}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return &Error{Error: "invalid_request", Field: f, Message: "unknown field " + f}
		default:
			return &Error{Error: "invalid_request", Message: "malformed JSON"}
		}
	}
	if dec.More() {
		return &Error{Error: "invalid_request", Message: "trailing data after the JSON object"}
	}
	return nil
}

// writeJSON answers with v. '&', '<' and '>' are written as they are,
// not as \u0026...: enrolment URIs hold '&', and people copy them from
// curl's output into `authd authenticator enroll`. nosniff keeps browsers
// from reading the JSON as anything but JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// locale takes the first language of an Accept-Language header.
func locale(h string) string {
	first, _, _ := strings.Cut(h, ",")
	first, _, _ = strings.Cut(first, ";")
	return strings.ToLower(strings.TrimSpace(first))
}
