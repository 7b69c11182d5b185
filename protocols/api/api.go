// Package api is the journey API: JSON over HTTP, the reference front end
// every other front end is measured against (see docs/api.md). It only
// translates; the engine decides.
package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/authd/authd/engine"
)

// MaxBodyBytes bounds a request body; a journey answer is a few hundred bytes.
const MaxBodyBytes = 64 << 10

// Handler serves the journey API.
type Handler struct {
	eng *engine.Engine
	log *slog.Logger
	mux *http.ServeMux
}

// New returns the journey API over eng. Mount it at the server root: it
// answers only below /api/v1/realms/.
func New(eng *engine.Engine, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{eng: eng, log: log, mux: http.NewServeMux()}
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
	realm, journey := r.PathValue("realm"), r.PathValue("journey")
	var in authenticateRequest
	if err := decodeBody(w, r, &in); err != nil {
		writeJSON(w, http.StatusBadRequest, err)
		return
	}
	req := engine.Request{
		Protocol:  engine.FrontendAPI,
		ClientIP:  clientIP(r),
		UserAgent: r.UserAgent(),
		Locale:    locale(r.Header.Get("Accept-Language")),
	}
	var (
		resp *engine.Response
		err  error
	)
	if in.Session == "" {
		if len(in.Callbacks) > 0 {
			writeJSON(w, http.StatusBadRequest, &Error{Error: "invalid_request", Field: "session", Message: "callbacks were sent without the session they answer"})
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
		if serr != nil {
			err = serr
		} else {
			resp, err = h.eng.Resume(r.Context(), in.Session, in.Callbacks, req)
		}
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if !resp.Done {
		out := Suspended{Session: resp.Session, Node: resp.Node, Callbacks: resp.Callbacks}
		if !resp.Until.IsZero() {
			out.Until = resp.Until.UTC().Format(time.RFC3339)
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	out := Finished{Outcome: string(resp.Outcome), Reason: "authentication failed"}
	if resp.Outcome == engine.Success {
		out.User, out.Reason = resp.User, "authenticated"
	}
	h.log.Info("journey finished", "realm", realm, "journey", journey, "outcome", resp.Outcome,
		"user", resp.User, "reason", resp.Reason, "client_ip", req.ClientIP, "path", strings.Join(resp.Path, ">"))
	writeJSON(w, http.StatusOK, out)
}

// startedAs reports whether the session belongs to the journey of the URL:
// the outermost journey, which is the first frame while an inner one runs.
func startedAs(s *engine.Session, journey string) bool {
	if len(s.Stack) > 0 {
		return s.Stack[0].Journey == journey
	}
	return s.Journey == journey
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		nf *engine.NotFoundError
		ae *engine.AnswerError
	)
	switch {
	case errors.As(err, &nf):
		writeJSON(w, http.StatusNotFound, &Error{Error: "not_found", Message: nf.Error()})
	case errors.As(err, &ae):
		writeJSON(w, http.StatusBadRequest, &Error{Error: "invalid_callbacks", Callback: ae.Callback, Message: ae.Error()})
	case errors.Is(err, engine.ErrSessionNotFound):
		writeJSON(w, http.StatusNotFound, &Error{Error: "session_not_found", Field: "session", Message: "unknown session: it was never issued or has been swept"})
	case errors.Is(err, engine.ErrSessionExpired):
		writeJSON(w, http.StatusGone, &Error{Error: "session_expired", Field: "session", Message: "the session expired; start again"})
	case errors.Is(err, engine.ErrSessionFinished):
		writeJSON(w, http.StatusConflict, &Error{Error: "session_finished", Field: "session", Message: "the session already finished and cannot be resumed"})
	case errors.Is(err, engine.ErrSessionBusy):
		writeJSON(w, http.StatusConflict, &Error{Error: "session_busy", Field: "session", Message: "another request is advancing this session; retry"})
	default:
		h.log.Error("journey API", "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, &Error{Error: "server_error", Message: "internal error; see the server log"})
	}
}

// decodeBody reads one JSON object, refusing unknown fields, trailing data
// and bodies over MaxBodyBytes, with an error that names the field.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) *Error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &Error{Error: "invalid_request", Message: "Content-Type must be application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return &Error{Error: "invalid_request", Message: "request body too large or unreadable"}
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
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
