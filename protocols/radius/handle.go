package radius

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"layeh.com/radius"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/metrics"
	"github.com/authd/authd/engine/users"
)

// request is one Access-Request being answered.
type request struct {
	w       writer
	from    netip.AddrPort
	raw     []byte
	client  *Client
	cfg     *compiled
	policy  *Policy
	user    string // User-Name as sent
	pass    string // User-Password, decrypted; "" when absent
	factor  string // Duo-style appended factor, until used
	req     engine.Request
	release func() // gives back the processing slot when the request is held

	key   cacheKey  // the reply cache's entry, finished by answer
	began time.Time // when the datagram came, for the request's duration

	numberAcked  bool // the user saw the push's number and asked to wait
	auto         int  // answers given on the user's behalf (maxAutoSteps)
	holding      bool
	holdDeadline time.Time
	wake         <-chan struct{} // registered with the engine for wakeID (engine.WakeChan)
	wakeID       string
	// held is set while the request is held with no goroutine (held.go):
	// its hold's continuation answers it. Whoever parked it must not, and
	// hands it over (heldRequest.handOff) once done with it.
	held *heldRequest
}

// handle answers one datagram. It never panics on input; a recover stands
// guard over the journey code it calls.
func (s *Server) handle(w writer, acct bool, b []byte, from netip.AddrPort, release func()) {
	// Set once the request is in the reply cache: from then on a panic
	// must still answer it (failed), or every retransmission would be
	// taken for the request in progress and dropped until the NAS gave
	// up on the server.
	var (
		rq      *request
		key     cacheKey
		began   time.Time
		inCache bool
	)
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("radius: panic while handling a packet", "panic", r, "stack", string(debug.Stack()))
			if inCache {
				s.failed(w, from, key, rq, began)
			}
		}
	}()
	began = time.Now()
	cfg := s.cfg.Load()
	src := from.Addr().Unmap()
	if len(b) < headerLen {
		s.drop(dropMalformed, src, "", "packet shorter than a RADIUS header")
		return
	}
	if l := int(binary.BigEndian.Uint16(b[2:4])); l < headerLen || l > len(b) || l > maxPacket {
		s.drop(dropMalformed, src, "", "bad packet length")
		return
	} else {
		b = b[:l] // octets beyond Length are padding (RFC 2865 3)
	}
	code := radius.Code(b[0])
	switch {
	case code == radius.CodeStatusServer:
	case !acct && code == radius.CodeAccessRequest:
	case acct && code == radius.CodeAccountingRequest:
	default:
		s.drop(dropUnexpectedCode, src, "", "unexpected packet code "+strconv.Itoa(int(code)))
		return
	}
	cl := cfg.clientFor(src)
	if cl == nil {
		s.drop(dropUnknownClient, src, "", "unknown client")
		return
	}
	info, err := scanAttributes(b)
	if err != nil {
		s.drop(dropMalformed, src, cl.Name, "malformed attributes")
		return
	}
	if code == radius.CodeAccountingRequest {
		if !validAccountingAuthenticator(b, cl.Secret) {
			s.drop(dropBadAuth, src, cl.Name, "bad Request Authenticator (wrong secret?)")
			return
		}
	} else {
		switch {
		case info.maOffset >= 0:
			if !validMessageAuthenticator(b, info.maOffset, cl.Secret) {
				s.drop(dropBadAuth, src, cl.Name, "bad Message-Authenticator (wrong secret?)")
				return
			}
		case code == radius.CodeStatusServer:
			s.drop(dropMissingMA, src, cl.Name, "Status-Server without Message-Authenticator")
			return
		case !cl.AllowMissingMessageAuthenticator:
			s.drop(dropMissingMA, src, cl.Name, "missing Message-Authenticator")
			return
		case info.hasProxyState && !cl.AllowProxyState:
			s.drop(dropMissingMA, src, cl.Name, "Proxy-State without Message-Authenticator")
			return
		}
	}
	if code == radius.CodeStatusServer {
		// RFC 5997: answered directly, never cached.
		replyCode := radius.CodeAccessAccept
		if acct {
			replyCode = radius.CodeAccountingResponse
		}
		s.send(w, from, s.encode(replyCode, b, cl, nil))
		metrics.RequestDone(engine.FrontendRADIUS, "status", time.Since(began))
		return
	}

	key = cacheKey{addr: from, id: b[1], auth: [16]byte(b[4:headerLen])}
	if reply, dup := s.cache.begin(key, time.Now()); dup {
		// RFC 5080: replayed, or (still in progress) left to the one
		// answer; neither is a drop nor a new request.
		if reply != nil {
			s.send(w, from, reply)
		}
		metrics.Request(engine.FrontendRADIUS, "duplicate")
		return
	}
	inCache = true
	var reply []byte
	if code == radius.CodeAccountingRequest {
		reply = s.accounting(b, cl, src)
	} else {
		rq = &request{w: w, from: from, raw: b, client: cl, cfg: cfg, release: release, key: key, began: began}
		reply = s.access(rq)
		if h := rq.held; h != nil {
			inCache = false // the hold's continuation answers it (held.go)
			h.handOff()
			return
		}
	}
	inCache = false // answered here, even if answering fails
	s.answer(w, from, key, reply, began)
}

// failed answers a request whose handling panicked (a bug, or a fault of
// the store): an Access-Request gets an Access-Reject, so the NAS neither
// waits out its retries nor marks the server dead for one request, and
// the reject is kept for its retransmissions like any answer; an
// Accounting-Request gets no answer and its key is forgotten, so the
// NAS's retransmission is processed afresh. A request held again before
// the panic belongs to its hold, which answers it. A second panic here
// (the reply cannot even be built) only forgets the key.
func (s *Server) failed(w writer, from netip.AddrPort, key cacheKey, rq *request, began time.Time) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("radius: panic while rejecting a failed request", "panic", r)
			s.cache.finish(key, nil, time.Now())
		}
	}()
	if rq == nil {
		s.cache.finish(key, nil, time.Now())
		return
	}
	if h := rq.held; h != nil {
		h.handOff()
		return
	}
	s.endHold(rq)
	s.answer(w, from, key, s.reject(rq, "internal error"), began)
}

// answer sends a request's reply (nil: dropped, and counted as such), and
// keeps it for retransmissions.
func (s *Server) answer(w writer, from netip.AddrPort, key cacheKey, reply []byte, began time.Time) {
	s.cache.finish(key, reply, time.Now())
	s.send(w, from, reply)
	if reply != nil {
		metrics.RequestDone(engine.FrontendRADIUS, resultOf(radius.Code(reply[0])), time.Since(began))
	}
}

// resultOf is the result label of authd_requests_total{frontend="radius"}
// for a reply code. A held request counts once, when it is answered, with
// the whole hold in authd_request_duration_seconds.
func resultOf(c radius.Code) string {
	switch c {
	case radius.CodeAccessAccept:
		return "success"
	case radius.CodeAccessReject:
		return "failure"
	case radius.CodeAccessChallenge:
		return "challenge"
	case radius.CodeAccountingResponse:
		return "accounting"
	}
	return "other"
}

func (s *Server) send(w writer, to netip.AddrPort, b []byte) {
	if b == nil {
		return
	}
	if err := w.WriteTo(b, to); err != nil {
		s.drops.warn("write failed", "to", to.Addr(), "err", err)
	}
}

// encode builds a reply; every Access-* reply carries Message-Authenticator
// first (BlastRADIUS), accounting replies need none.
func (s *Server) encode(code radius.Code, req []byte, cl *Client, attrs []*radius.AVP) []byte {
	withMA := code != radius.CodeAccountingResponse
	b, err := encodeReply(code, req, cl.Secret, withMA, attrs)
	if err != nil {
		s.log.Error("radius: cannot encode the reply; sending Access-Reject", "client", cl.Name, "err", err)
		if code == radius.CodeAccessReject {
			return nil
		}
		b, err = encodeReply(radius.CodeAccessReject, req, cl.Secret, true, replyMessages(s.rejectMsg))
		if err != nil {
			return nil
		}
	}
	return b
}

// accounting records an Accounting-Request in the audit log (kind
// radius_accounting: the NAS's own account of who was connected when, the
// record an investigation needs next to the login) and acknowledges it.
// Retransmissions are answered from the reply cache and recorded once. The
// volume is the NAS's (a Start, a Stop and the interim updates per
// session); audit_retention bounds it.
func (s *Server) accounting(b []byte, cl *Client, src netip.Addr) []byte {
	attrs, err := radius.ParseAttributes(b[headerLen:])
	if err != nil {
		s.drop(dropMalformed, src, cl.Name, "malformed attributes")
		return nil
	}
	str := func(t radius.Type) string {
		v, _ := attrs.Lookup(t)
		return printable(string(v))
	}
	status := ""
	if v, ok := attrs.Lookup(attrAcctStatusType); ok && len(v) == 4 {
		switch n := binary.BigEndian.Uint32(v); n {
		case 1:
			status = "Start"
		case 2:
			status = "Stop"
		case 3:
			status = "Interim-Update"
		case 7:
			status = "Accounting-On"
		case 8:
			status = "Accounting-Off"
		default:
			status = strconv.Itoa(int(n))
		}
	}
	s.log.Info("radius: accounting", "client", cl.Name, "from", src, "user", str(attrUserName),
		"status", status, "acct_session_id", str(attrAcctSessionID), "nas_identifier", str(attrNASIdentifier),
		"calling_station_id", str(attrCallingStationID))
	detail := map[string]string{"radius_client": cl.Name, "status": status}
	for k, t := range map[string]radius.Type{
		"acct_session_id": attrAcctSessionID, "nas_identifier": attrNASIdentifier, "calling_station_id": attrCallingStationID,
	} {
		if v := str(t); v != "" {
			detail[k] = v
		}
	}
	s.audit.Log(s.ctx, audit.Entry{
		Kind: audit.KindAccounting, Frontend: engine.FrontendRADIUS, User: str(attrUserName),
		Client: src.Unmap().String(), Result: audit.ResultSuccess, Reason: "accounting " + status, Detail: detail,
	})
	return s.encode(radius.CodeAccountingResponse, b, cl, nil)
}

// printable keeps log lines readable and single-line whatever a NAS sends.
func printable(v string) string {
	if len(v) > 128 {
		v = v[:128]
	}
	if utf8.ValidString(v) && !strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return v
	}
	return strconv.Quote(v)
}

// access answers an Access-Request: it starts the policy's journey, or
// resumes the one its State points at.
func (s *Server) access(rq *request) []byte {
	b, cl := rq.raw, rq.client
	attrs, err := radius.ParseAttributes(b[headerLen:])
	if err != nil {
		s.drop(dropMalformed, rq.from.Addr(), cl.Name, "malformed attributes")
		return nil
	}
	if name, ok := attrs.Lookup(attrUserName); ok {
		rq.user = string(name)
	}
	if _, chap := attrs.Lookup(attrCHAPPassword); chap {
		return s.rejectUnstarted(rq, "CHAP is not supported; configure PAP on the NAS")
	}
	if _, eap := attrs.Lookup(attrEAPMessage); eap {
		return s.rejectUnstarted(rq, "EAP is not supported; configure PAP on the NAS")
	}
	if rq.user == "" || !utf8.ValidString(rq.user) {
		return s.rejectUnstarted(rq, "no usable User-Name")
	}
	if pw, ok := attrs.Lookup(attrUserPassword); ok {
		if len(pw) == 0 || len(pw) > maxPasswordLen || len(pw)%16 != 0 {
			s.drop(dropMalformed, rq.from.Addr(), cl.Name, "malformed User-Password")
			return nil
		}
		plain, err := radius.UserPassword(pw, cl.Secret, b[4:headerLen])
		if err != nil {
			s.drop(dropMalformed, rq.from.Addr(), cl.Name, "malformed User-Password")
			return nil
		}
		rq.pass = string(plain)
	}
	src := rq.from.Addr().Unmap()
	info := &engine.RADIUSInfo{NASIP: src.String()}
	if v, ok := attrs.Lookup(attrNASIdentifier); ok {
		info.NASIdentifier = string(v)
	}
	if v, ok := attrs.Lookup(attrNASIPAddress); ok && len(v) == 4 {
		info.NASIP = netip.AddrFrom4([4]byte(v)).String()
	} else if v, ok := attrs.Lookup(attrNASIPv6Address); ok && len(v) == 16 {
		info.NASIP = netip.AddrFrom16([16]byte(v)).String()
	}
	clientIP := src.String()
	if v, ok := attrs.Lookup(attrCallingStationID); ok {
		info.CallingStationID = string(v)
		// VPN gateways (FortiGate SSL-VPN, GlobalProtect) put the user's
		// address here; Wi-Fi puts a MAC, which is not an IP.
		if ip, err := netip.ParseAddr(strings.TrimSpace(string(v))); err == nil {
			clientIP = ip.Unmap().String()
		}
	}
	rq.req = engine.Request{Protocol: engine.FrontendRADIUS, ClientIP: clientIP, RADIUS: info}
	if state, ok := attrs.Lookup(attrState); ok {
		return s.resume(rq, state)
	}
	return s.start(rq)
}

// pickPolicy returns the first policy serving the client whose `when`
// holds for the request.
func (s *Server) pickPolicy(rq *request) *Policy {
	var ctx *hcl.EvalContext
	for i := range rq.cfg.cfg.Policies {
		p := &rq.cfg.cfg.Policies[i]
		if !p.serves(rq.client.Name) {
			continue
		}
		if p.When == nil {
			return p
		}
		if ctx == nil {
			ctx = policyEvalContext(&rq.req, rq.user, time.Now(), rq.cfg.whenReads)
		}
		ok, err := policyMatches(p, ctx)
		if err != nil {
			s.drops.warn("policy condition failed", "policy", p.Name, "err", err)
			continue
		}
		if ok {
			return p
		}
	}
	return nil
}

func (s *Server) start(rq *request) []byte {
	p := s.pickPolicy(rq)
	if p == nil {
		return s.rejectUnstarted(rq, "no radius_policy matches the request")
	}
	rq.policy = p
	pass := rq.pass
	if p.AppendedFactor {
		pass, rq.factor = splitFactor(pass)
	}
	// The credentials, username and password nodes take these, once per
	// request; drive never hands the password over again (see there).
	req := rq.req
	req.Credentials = &engine.Credentials{Username: rq.user, Password: pass}
	resp, err := s.eng.Start(s.ctx, p.Realm, p.Journey, req)
	return s.drive(rq, resp, err, nil)
}

// splitFactor splits "password,push" or "password,123456" (Duo's appended
// mode). Anything else is a password that happens to hold a comma.
func splitFactor(pass string) (string, string) {
	i := strings.LastIndexByte(pass, ',')
	if i < 0 {
		return pass, ""
	}
	f := pass[i+1:]
	if strings.EqualFold(f, "push") {
		return pass[:i], "push"
	}
	if len(f) >= 4 && len(f) <= 10 && strings.Trim(f, "0123456789") == "" {
		return pass[:i], f
	}
	return pass, ""
}

func (s *Server) resume(rq *request, state []byte) []byte {
	c := s.states.take(state, rq.client.Name, rq.user, time.Now())
	if c == nil {
		return s.rejectUnstarted(rq, "unknown, expired, reused or foreign State")
	}
	p := rq.cfg.policies[c.policy]
	if p == nil {
		return s.rejectUnstarted(rq, "the challenge's policy was removed by a reload")
	}
	rq.policy = p
	var answers []engine.Callback
	switch c.kind {
	case showNumber:
		wait := "" // keep waiting: the hold starts now
		if a := strings.ToLower(strings.TrimSpace(rq.pass)); a == "exit" || a == "cancel" {
			wait = "exit"
		} else {
			rq.numberAcked = true
		}
		answers = fill(c.pending, -1, "", rq.user, wait)
		rq.wake, rq.wakeID = s.eng.WakeChan(c.session), c.session
	case showMessage:
		answers = fill(c.pending, -1, "", rq.user, "")
	default:
		v := rq.pass
		if cb := c.pending[c.input]; cb.Type == engine.CallbackChoice {
			opt, ok := pickOption(cb.Options, v)
			if !ok {
				return s.rechallenge(rq, c)
			}
			v = opt
		}
		answers = fill(c.pending, c.input, v, rq.user, "")
	}
	resp, err := s.eng.Resume(s.ctx, c.session, answers, rq.req)
	return s.drive(rq, resp, err, c)
}

// fill answers pending callbacks: input gets v, name callbacks the
// User-Name (the NAS always sends it and the State is bound to it), a wait
// gets wait; display-only callbacks get nothing.
func fill(pending []engine.Callback, input int, v, user, wait string) []engine.Callback {
	out := make([]engine.Callback, 0, len(pending))
	for i, cb := range pending {
		a := engine.Callback{ID: cb.ID, Type: cb.Type}
		switch {
		case i == input:
			a.Value = &v
		case cb.Type == engine.CallbackName:
			u := user
			a.Value = &u
		case cb.Type == engine.CallbackWait:
			w := wait
			a.Value = &w
		default:
			continue
		}
		out = append(out, a)
	}
	return out
}

// pickOption reads a choice typed at a RADIUS prompt: the option itself
// (any case) or its number in the list shown.
func pickOption(options []string, v string) (string, bool) {
	v = strings.TrimSpace(v)
	for _, o := range options {
		if strings.EqualFold(o, v) {
			return o, true
		}
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= len(options) {
		return options[n-1], true
	}
	return "", false
}

// maxAutoSteps bounds the answers authd gives on the user's behalf in one
// request (the packet's credentials, an appended factor), so a journey
// that keeps asking cannot loop.
const maxAutoSteps = 4

// drive turns engine responses into a reply: it answers what the packet
// already answers, holds while the journey waits, and otherwise challenges,
// accepts or rejects. last is the challenge being answered, if any.
//
// A wait parks the request (held.go) and drive returns nil with rq.held
// set; the hold's continuation calls drive again with what the journey did
// next.
func (s *Server) drive(rq *request, resp *engine.Response, err error, last *challenge) []byte {
	defer func() {
		if rq.held == nil {
			s.endHold(rq)
		}
	}()
	for {
		if err != nil {
			var ae *engine.AnswerError
			switch {
			case errors.As(err, &ae) && last != nil:
				return s.rechallenge(rq, last)
			case errors.Is(err, errShuttingDown):
				return s.reject(rq, "authd is shutting down")
			case errors.Is(err, errHoldLimit):
				return s.reject(rq, "too many held requests for this client or user")
			case errors.Is(err, errHoldTimeout):
				return s.reject(rq, "the wait outlasted the hold limit")
			}
			var se *engine.SessionError
			if !errors.As(err, &se) {
				s.log.Error("radius: journey error", "client", rq.client.Name, "user", rq.user, "err", err)
			}
			return s.reject(rq, err.Error())
		}
		if resp.Done {
			if resp.Outcome == engine.Success {
				return s.accept(rq, resp)
			}
			return s.reject(rq, "journey ended in "+string(resp.Outcome)+reasonSuffix(resp.Reason))
		}
		pl := planFor(resp.Callbacks)
		switch {
		case pl.unshowable != "":
			return s.reject(rq, pl.unshowable)
		case rq.auto < maxAutoSteps && pl.onlyNames():
			// A user name asked after the nodes took the request's
			// credentials (a loop back to a username node): the NAS sends
			// the User-Name in every round and the State is bound to it.
			// A password asked again is never answered from the packet: in
			// the first request the nodes took it already, so asking again
			// means a wrong one is being retried (the same password would
			// count twice towards a lockout); in a later round the
			// User-Password is the answer to a challenge. It is challenged
			// for instead.
			rq.auto++
			resp, err = s.eng.Resume(s.ctx, resp.Session, fill(resp.Callbacks, -1, "", rq.user, ""), rq.req)
			last = nil
		case rq.auto < maxAutoSteps && rq.factor != "" && pl.input >= 0 && resp.Callbacks[pl.input].Type == engine.CallbackCode:
			rq.auto++
			f := rq.factor
			rq.factor = ""
			resp, err = s.eng.Resume(s.ctx, resp.Session, fill(resp.Callbacks, pl.input, f, rq.user, ""), rq.req)
			last = nil
		case pl.input >= 0:
			return s.challengeFor(rq, resp, askInput, pl.input, pl.prompt(resp.Callbacks))
		case pl.wait >= 0 && pl.number > 0 && !rq.numberAcked:
			return s.challengeFor(rq, resp, showNumber, -1, pl.numberPrompt(resp.Callbacks))
		case pl.wait >= 0:
			if err = s.park(rq, resp); err == nil {
				return nil
			}
			last = nil
		case len(pl.texts) > 0:
			return s.challengeFor(rq, resp, showMessage, -1, strings.Join(pl.texts, "\n"))
		default:
			return s.reject(rq, "the journey suspended with nothing RADIUS can show")
		}
	}
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return ": " + r
}

// plan is what a suspension asks, seen from RADIUS.
type plan struct {
	input      int // the one callback the user must answer; -1: none
	names      int
	passwords  int
	others     int // codes and choices
	wait       int
	number     int
	texts      []string
	unshowable string
}

func planFor(cbs []engine.Callback) plan {
	p := plan{input: -1, wait: -1}
	inputs := 0
	for i, cb := range cbs {
		switch cb.Type {
		case engine.CallbackName:
			p.names++
		case engine.CallbackPassword:
			p.passwords++
			p.input = i
			inputs++
		case engine.CallbackCode, engine.CallbackChoice:
			p.others++
			p.input = i
			inputs++
		case engine.CallbackWait:
			p.wait = i
		case engine.CallbackText:
			if cb.ChallengeNumber > 0 {
				p.number = cb.ChallengeNumber
			}
			if cb.Message != "" {
				p.texts = append(p.texts, cb.Message)
			}
		case engine.CallbackQR:
			p.unshowable = "the journey shows a QR code, which RADIUS cannot"
		default:
			p.unshowable = "the journey asks a " + strconv.Quote(cb.Type) + " callback, which RADIUS cannot show"
		}
	}
	if inputs > 1 {
		p.unshowable = "the journey asks several answers at once, which RADIUS cannot"
	}
	if p.names > 0 && inputs == 0 && p.wait < 0 {
		// Only a name: the User-Name answers it; treat it like the
		// credentials case.
		p.input = -1
	}
	return p
}

// onlyNames: the suspension asks nothing but a user name.
func (p plan) onlyNames() bool {
	return p.names > 0 && p.passwords == 0 && p.others == 0 && p.wait < 0 && p.unshowable == ""
}

// prompt is the Reply-Message of an input challenge: any texts shown with
// it, then the callback's prompt (and a choice's options).
func (p plan) prompt(cbs []engine.Callback) string {
	cb := cbs[p.input]
	parts := append([]string(nil), p.texts...)
	q := cb.Prompt
	switch cb.Type {
	case engine.CallbackChoice:
		if q == "" {
			q = "Choose one"
		}
		opts := make([]string, len(cb.Options))
		for i, o := range cb.Options {
			opts[i] = fmt.Sprintf("%d) %s", i+1, o)
		}
		q += ": " + strings.Join(opts, ", ")
	case engine.CallbackCode:
		if q == "" {
			q = "Enter the code"
		}
	case engine.CallbackPassword:
		if q == "" {
			q = "Password"
		}
	}
	if strings.HasPrefix(q, "+") {
		// FortiGate reads a leading "+" as "push offered": keep it first.
		return strings.Join(append([]string{q}, parts...), "\n")
	}
	return strings.Join(append(parts, q), "\n")
}

// numberPrompt is the Access-Challenge of number matching: the number to
// pick on the phone, and what to do next. See README, "Number matching".
func (p plan) numberPrompt(cbs []engine.Callback) string {
	n := strconv.Itoa(p.number)
	msg := strings.Join(p.texts, "\n")
	if !strings.Contains(msg, n) {
		if msg != "" {
			msg += "\n"
		}
		msg += "Choose " + n + " in your authenticator app to approve this sign-in."
	}
	return msg + "\nThen submit an empty response (or \"exit\" to cancel)."
}

func (s *Server) challengeFor(rq *request, resp *engine.Response, kind challengeKind, input int, prompt string) []byte {
	now := time.Now()
	exp := now.Add(s.lim.ChallengeTTL)
	if resp.State != nil && !resp.State.Expires.IsZero() && resp.State.Expires.Before(exp) {
		exp = resp.State.Expires
	}
	return s.issue(rq, &challenge{
		session: resp.Session, client: rq.client.Name, user: rq.user, policy: rq.policy.Name,
		kind: kind, pending: resp.Callbacks, input: input, expires: exp, prompt: prompt,
	})
}

// rechallenge asks the same question again, under a new State.
func (s *Server) rechallenge(rq *request, c *challenge) []byte {
	if !time.Now().Before(c.expires) {
		return s.reject(rq, "the challenge expired")
	}
	n := *c
	return s.issue(rq, &n)
}

func (s *Server) issue(rq *request, c *challenge) []byte {
	state, err := s.states.issue(c)
	if err != nil {
		s.log.Error("radius: cannot issue a challenge", "err", err)
		return s.reject(rq, err.Error())
	}
	attrs := []*radius.AVP{{Type: attrState, Attribute: state}}
	attrs = append(attrs, replyMessages(c.prompt)...)
	if c.kind == askInput && strings.HasPrefix(c.prompt, "+") {
		attrs = append(attrs, vsa(vendorFortinet, fortinetChallengeCode, []byte("001")))
	}
	s.log.Info("radius: access challenge", "client", rq.client.Name, "user", printable(rq.user), "policy", rq.policy.Name)
	return s.encode(radius.CodeAccessChallenge, rq.raw, rq.client, attrs)
}

func (s *Server) accept(rq *request, resp *engine.Response) []byte {
	attrs, err := s.replyAttributes(rq, resp)
	if err != nil {
		s.log.Error("radius: reply_attributes failed; rejecting", "policy", rq.policy.Name, "user", printable(rq.user), "err", err)
		return s.reject(rq, "reply_attributes failed")
	}
	s.log.Info("radius: access accept", "client", rq.client.Name, "user", printable(rq.user), "policy", rq.policy.Name, "journey", resp.Journey)
	return s.encode(radius.CodeAccessAccept, rq.raw, rq.client, attrs)
}

// reject answers Access-Reject. reason goes to the log only: the reply is
// the same for every reason.
func (s *Server) reject(rq *request, reason string) []byte {
	policy := ""
	if rq.policy != nil {
		policy = rq.policy.Name
	}
	s.log.Info("radius: access reject", "client", rq.client.Name, "user", printable(rq.user), "policy", policy, "reason", reason)
	return s.encode(radius.CodeAccessReject, rq.raw, rq.client, replyMessages(s.rejectMsg))
}

// rejectUnstarted rejects a request that no journey answered (no policy
// matched, an unknown State, CHAP): the engine audits every journey that
// ends, so these get their audit entry here, or an operator would find the
// NAS's rejects nowhere in the audit log. The reply is reject's, the same
// for every reason.
func (s *Server) rejectUnstarted(rq *request, reason string) []byte {
	e := audit.Entry{
		Kind: audit.KindJourney, Frontend: engine.FrontendRADIUS, User: printable(rq.user),
		Client: rq.req.ClientIP, Result: audit.ResultFailure, Reason: "radius: " + reason,
		Detail: map[string]string{"radius_client": rq.client.Name, "nas_ip": rq.from.Addr().Unmap().String()},
	}
	if e.Client == "" {
		e.Client = rq.from.Addr().Unmap().String()
	}
	if rq.policy != nil {
		e.Realm = rq.policy.Realm
		e.Detail["radius_policy"] = rq.policy.Name
	}
	s.audit.Log(s.ctx, e)
	return s.reject(rq, reason)
}

func (s *Server) replyAttributes(rq *request, resp *engine.Response) ([]*radius.AVP, error) {
	expr := rq.policy.ReplyAttributes
	if expr == nil {
		return nil, nil
	}
	var u *users.User
	realm := rq.policy.Realm
	if resp.State != nil && resp.State.Realm != "" {
		realm = resp.State.Realm
	}
	if resp.User != "" && s.eng.Services().Users != nil {
		got, err := s.eng.Services().Users.Get(realm, resp.User)
		switch {
		case err == nil:
			u = got
		case !errors.Is(err, users.ErrNotFound):
			return nil, fmt.Errorf("loading user: %w", err)
		}
	}
	var keys []string
	if resp.State != nil {
		if p := s.eng.Program(); p != nil {
			if j := p.Journeys[resp.State.Journey]; j != nil {
				keys = j.StateKeys
			}
		}
	}
	ctx := engine.RuntimeEvalContext(engine.UserValue(resp.User, u, nil), engine.RequestValue(&rq.req), engine.StateValue(sessionState(resp.State), keys), time.Now().UTC().Format(time.RFC3339))
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return nil, evalError(expr, diags)
	}
	if v.IsNull() {
		return nil, nil
	}
	if !v.IsWhollyKnown() {
		return nil, fmt.Errorf("%s: value is not known", expr.Range())
	}
	v, _ = v.UnmarkDeep()
	if !(v.Type().IsObjectType() || v.Type().IsMapType()) {
		return nil, fmt.Errorf("%s: reply_attributes must be an object, not %s", expr.Range(), v.Type().FriendlyName())
	}
	return encodeReplyAttributes(v)
}

var (
	errShuttingDown = errors.New("shutting down")
	errHoldLimit    = errors.New("hold limit reached")
	errHoldTimeout  = errors.New("hold timed out")
)

// defaultPoll is how long a hold waits when the journey's wait gives no
// deadline: it re-checks the session then, even without a wake.
const defaultPoll = 5 * time.Second

// beginHold counts rq as held (the first time: it gives its processing
// slot back, so held requests never starve others; their own caps bound
// them) and returns when this hold ends at the latest: the wait's
// deadline, bounded by the hold limit and the session's expiry.
func (s *Server) beginHold(rq *request, resp *engine.Response) (time.Time, error) {
	now := time.Now()
	if !rq.holding {
		if !s.holds.acquire(rq.client.Name, s.holdUser(rq), s.lim) {
			return time.Time{}, errHoldLimit
		}
		rq.holding = true
		rq.release()
		rq.holdDeadline = now.Add(s.lim.MaxHold)
	}
	if !now.Before(rq.holdDeadline) {
		return time.Time{}, errHoldTimeout
	}
	if resp.State != nil && !resp.State.Expires.IsZero() && resp.State.Expires.Before(rq.holdDeadline) {
		rq.holdDeadline = resp.State.Expires
	}
	until := resp.Until
	if until.IsZero() {
		until = now.Add(defaultPoll)
	}
	if until.After(rq.holdDeadline) {
		until = rq.holdDeadline
	}
	return until, nil
}

func (s *Server) holdUser(rq *request) string {
	return rq.policy.Realm + "\x00" + rq.user
}

func (s *Server) endHold(rq *request) {
	if rq.wake != nil {
		s.eng.Unhold(rq.wakeID, rq.wake)
		rq.wake = nil
	}
	if rq.holding {
		rq.holding = false
		s.holds.release(rq.client.Name, s.holdUser(rq))
	}
}

// sessionState is the shared state of a finished session, if any.
func sessionState(s *engine.Session) map[string]cty.Value {
	if s == nil {
		return nil
	}
	return s.State
}
