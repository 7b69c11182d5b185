package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/clientinfo"
	"github.com/authd/authd/engine/metrics"
)

// Limits of a portal start request's fields.
const (
	maxPortalUser      = 256
	maxPortalMessage   = 1000
	maxPortalLanguage  = 35
	maxPortalUserAgent = 1024
	maxPortalURL       = 2048
)

// PortalStart is what the portal endpoint tells the callback dispatcher
// about a journey an api_client started.
type PortalStart struct {
	Session, Realm, Journey, User string
	Client                        string // the api_client's name
	CallbackURL                   string // "" when the start named none
	// Done is set when the journey ended within the start request;
	// Outcome and Reason then hold its result.
	Done            bool
	Outcome, Reason string
	Time            time.Time
}

// PortalOptions wire the portal endpoint.
type PortalOptions struct {
	Engine *engine.Engine
	Log    *slog.Logger
	// Clients returns the api_clients of the configuration being served
	// (read per request, so a reload applies at once).
	Clients func() map[string]*dsl.APIClient
	// Composer returns the secure-message composer of a client (its
	// templates and geoip database); nil means default template, no
	// location.
	Composer func(c *dsl.APIClient) *clientinfo.Composer
	// Started records where the result goes (protocols/portal); nil
	// means callbacks are not delivered.
	Started func(PortalStart) error
}

// PortalHandler is the api_client side of the journey API: an application
// authenticated with HTTP basic auth (its name and secret) starts a journey
// for a named user, and learns the result by a callback.
type PortalHandler struct {
	o   PortalOptions
	mux *http.ServeMux
}

// NewPortal returns the api_client endpoint; mount it at
// PortalPattern's path. From then on the journey API over o.Engine refuses
// to start a journey any of o.Clients lists: only this endpoint starts it.
func NewPortal(o PortalOptions) *PortalHandler {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	h := &PortalHandler{o: o, mux: http.NewServeMux()}
	h.mux.HandleFunc(PortalPattern, h.start)
	// The journey API refuses to start the clients' journeys when it is
	// given the same clients (api.Options.APIClients; authd run does).
	return h
}

// PortalPattern is the route of a portal start.
const PortalPattern = "POST /api/v1/realms/{realm}/journeys/{journey}/start"

// ServeHTTP implements http.Handler.
func (h *PortalHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// portalRequest is the body of a start.
type portalRequest struct {
	User         string `json:"user"`
	Message      string `json:"message,omitempty"`
	LanguageCode string `json:"language_code,omitempty"`
	IPAddress    string `json:"ip_address,omitempty"`
	UserAgent    string `json:"user_agent,omitempty"`
	CallbackURL  string `json:"callback_url,omitempty"`
}

// PortalStarted is the answer to a start: the session to correlate the
// callback with, and whether the journey is still running.
type PortalStarted struct {
	Session string `json:"session"`
	// Status is "pending" (the result comes by callback) or "finished"
	// (it ended already; the callback is sent too).
	Status  string `json:"status"`
	Outcome string `json:"outcome,omitempty"`
}

// dummyDigest is compared against when the client name is unknown, so
// an unknown name costs the same as a wrong secret.
var dummyDigest = sha256.Sum256([]byte("authd: no such api_client"))

// authenticate finds the api_client of a request: 401 without basic auth
// or with a wrong name or secret, then 403 from an address outside its
// allowed_ips. The secret is checked first, so only a caller who knows it
// learns that the client exists (a 403 before it would tell anyone which
// names are clients). The secret is compared in constant time (as SHA-256
// digests, so its length does not leak either).
func (h *PortalHandler) authenticate(w http.ResponseWriter, r *http.Request) *dsl.APIClient {
	name, secret, ok := r.BasicAuth()
	var clients map[string]*dsl.APIClient
	if h.o.Clients != nil {
		clients = h.o.Clients()
	}
	c := clients[name]
	want := dummyDigest
	if c != nil {
		want = sha256.Sum256([]byte(c.Secret.Value()))
	}
	got := sha256.Sum256([]byte(secret))
	match := subtle.ConstantTimeCompare(got[:], want[:]) == 1
	if !ok || c == nil || !match || c.Secret.Value() == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="authd", charset="UTF-8"`)
		writeJSON(w, http.StatusUnauthorized, &Error{Error: "unauthorized", Message: "api_client name or secret wrong"})
		return nil
	}
	if !allowedIP(c, clientIP(r)) {
		writeJSON(w, http.StatusForbidden, &Error{Error: "forbidden", Message: "this address may not use api_client " + name})
		return nil
	}
	return c
}

func allowedIP(c *dsl.APIClient, ip string) bool {
	p := net.ParseIP(ip)
	if p == nil {
		return false
	}
	if v4 := p.To4(); v4 != nil {
		p = v4
	}
	for _, n := range c.AllowedIPs {
		if n.Contains(p) {
			return true
		}
	}
	return false
}

func (h *PortalHandler) start(w http.ResponseWriter, r *http.Request) {
	began := time.Now()
	result := "error"
	defer func() { metrics.RequestDone(engine.FrontendAPI, result, time.Since(began)) }()
	id := engine.RequestIDFrom(r.Context())
	if id == "" {
		id = engine.NewRequestID()
		r = r.WithContext(engine.ContextWithRequestID(r.Context(), id))
		w.Header().Set(RequestIDHeader, id)
	}
	c := h.authenticate(w, r)
	if c == nil {
		result = "unauthorized"
		return
	}
	realm, journey := r.PathValue("realm"), r.PathValue("journey")
	if !slices.Contains(c.Journeys, journey) {
		result = "forbidden"
		writeJSON(w, http.StatusForbidden, &Error{Error: "forbidden", Message: "api_client " + c.Name + " may not start journey " + journey})
		return
	}
	var in portalRequest
	if err := decodeBody(w, r, &in, MaxBodyBytes); err != nil {
		result = "bad_request"
		writeJSON(w, http.StatusBadRequest, err)
		return
	}
	if e := checkPortalRequest(c, &in); e != nil {
		result = "bad_request"
		writeJSON(w, http.StatusBadRequest, e)
		return
	}
	base := in.Message
	if base == "" {
		base = clientinfo.DefaultMessage(messageKind(h.o.Engine.Program(), journey), in.LanguageCode)
	}
	var comp *clientinfo.Composer
	if h.o.Composer != nil {
		comp = h.o.Composer(c)
	}
	text, _, gerr := comp.Compose(base, in.LanguageCode, in.IPAddress, in.UserAgent)
	if gerr != nil {
		// The base message goes alone; the operator learns why.
		h.o.Log.InfoContext(r.Context(), "portal: no location for the secure message; sending the base message alone",
			"api_client", c.Name, "ip", in.IPAddress, "err", gerr, "request_id", id)
	}
	req := engine.Request{
		Protocol:    engine.FrontendAPI,
		ClientIP:    in.IPAddress,
		UserAgent:   in.UserAgent,
		Locale:      strings.ToLower(in.LanguageCode),
		Message:     text,
		RequestID:   id,
		Credentials: &engine.Credentials{Username: in.User},
	}
	resp, err := h.o.Engine.Start(r.Context(), realm, journey, req)
	if err != nil {
		result = (&Handler{log: h.o.Log}).writeError(w, r.Context(), r.URL.Path, err)
		return
	}
	st := PortalStart{Realm: realm, Journey: journey, User: in.User, Client: c.Name, CallbackURL: in.CallbackURL, Time: time.Now().UTC()}
	out := PortalStarted{Status: "pending"}
	if resp.Done {
		st.Session, st.Done, st.Outcome, st.Reason = resp.State.ID, true, string(resp.Outcome), resp.Reason
		out.Session, out.Status, out.Outcome = resp.State.ID, "finished", string(resp.Outcome)
		if resp.Outcome != engine.Success {
			out.Outcome = "failure"
		}
	} else {
		st.Session, out.Session = resp.Session, resp.Session
	}
	if in.CallbackURL != "" && h.o.Started != nil {
		if err := h.o.Started(st); err != nil {
			h.o.Log.ErrorContext(r.Context(), "portal: the callback could not be stored", "api_client", c.Name, "err", err, "request_id", id)
			result = "error"
			writeJSON(w, http.StatusInternalServerError, &Error{Error: "server_error", Message: "the journey started, but its callback could not be stored; see the server log"})
			return
		}
	}
	result = "started"
	writeJSON(w, http.StatusOK, out)
}

// checkPortalRequest validates a start's fields, naming the field at fault.
func checkPortalRequest(c *dsl.APIClient, in *portalRequest) *Error {
	bad := func(field, msg string) *Error { return &Error{Error: "invalid_request", Field: field, Message: msg} }
	for _, f := range []struct {
		name, v string
		max     int
	}{{"user", in.User, maxPortalUser}, {"message", in.Message, maxPortalMessage}, {"language_code", in.LanguageCode, maxPortalLanguage},
		{"user_agent", in.UserAgent, maxPortalUserAgent}, {"callback_url", in.CallbackURL, maxPortalURL}} {
		if len(f.v) > f.max {
			return bad(f.name, f.name+" is longer than the limit")
		}
		if !utf8.ValidString(f.v) || strings.ContainsAny(f.v, "\x00\r\n") && f.name != "message" {
			return bad(f.name, f.name+" holds invalid characters")
		}
	}
	if strings.TrimSpace(in.User) == "" {
		return bad("user", "user is required: the user to authenticate")
	}
	if in.IPAddress != "" {
		if _, err := netip.ParseAddr(in.IPAddress); err != nil {
			return bad("ip_address", "ip_address is not an IP address")
		}
	}
	for _, r := range in.LanguageCode {
		if !(r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return bad("language_code", "language_code must be a language tag like en or de-CH")
		}
	}
	if in.CallbackURL != "" && !slices.Contains(c.CallbackURLs, in.CallbackURL) {
		return bad("callback_url", "callback_url is not one of the api_client's callback_urls (they must match exactly)")
	}
	return nil
}

// messageKind is the authentication type whose default message a start
// without a message gets: push when the journey sends a push, else SMS or
// an authenticator app's code by the nodes it has (its own nodes only, not
// those of inner journeys). The SMS default holds {{code}}, which
// sms_otp_sender fills with the code.
func messageKind(p *engine.Program, journey string) string {
	if p == nil || p.Journeys[journey] == nil {
		return clientinfo.KindPush
	}
	has := map[string]bool{}
	for _, n := range p.Journeys[journey].Nodes {
		has[n.Type] = true
	}
	switch {
	case has["push_sender"]:
		return clientinfo.KindPush
	case has["sms_otp_sender"]:
		return clientinfo.KindSMS
	case has["otp_verify"]:
		return clientinfo.KindOTP
	}
	return clientinfo.KindPush
}
