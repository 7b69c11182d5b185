package oauth

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/protocols/oauth/pages"
)

// authorize is /oauth2/authorize. fosite checks the client, the redirect
// URI, the response type and the scopes; authd then checks what fosite
// cannot (exact redirect match, per-client PKCE, prompt) before anything
// runs, and either answers from the browser's SSO session or starts the
// relying party's journey and sends the browser to the login pages.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := time.Now().UTC()
	ar, err := p.f.NewAuthorizeRequest(ctx, r)
	if err != nil {
		p.authorizeError(w, r, ar, err)
		return
	}
	c := ar.GetClient().(*client)
	if !c.redirectRegistered(ar.GetRedirectURI()) {
		p.errorPage(w, r, http.StatusBadRequest, "This application sent an invalid sign-in request",
			"The redirect address it asked for is not registered for it, so authd will not send you there.", nil)
		return
	}
	if err := p.checkAuthorize(c, ar); err != nil {
		p.writeAuthorizeError(ctx, w, ar, err)
		return
	}
	prompt := fosite.RemoveEmpty(strings.Split(ar.GetRequestForm().Get("prompt"), " "))
	maxAge := int64(-1)
	if v := ar.GetRequestForm().Get("max_age"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			p.writeAuthorizeError(ctx, w, ar, fosite.ErrInvalidRequest.WithHint("max_age must be a non-negative number of seconds."))
			return
		}
		maxAge = n
	}

	// Single sign-on: a browser that already passed this relying party's
	// journey skips it, unless the relying party asks for a fresh login or
	// the session's user is gone, locked or has a new password since.
	if s, key := p.sso(r, now); s.satisfies(c.cfg.Realm, c.cfg.Journey, now) && !slices.Contains(prompt, "login") &&
		(maxAge < 0 || !s.AuthTime.Add(time.Duration(maxAge)*time.Second).Before(now.Truncate(time.Second))) &&
		p.ssoUserOK(s, key, now) {
		p.issueCode(w, r, ar, c, grantInfo{user: s.User, authTime: s.AuthTime, requestedAt: now})
		return
	}
	if slices.Contains(prompt, "none") {
		p.writeAuthorizeError(ctx, w, ar, fosite.ErrLoginRequired.WithHint("prompt=none was asked, but the browser has no sign-in session that this application accepts."))
		return
	}

	req := p.engineRequest(r, c, ar.GetRequestedScopes())
	resp, err := p.eng.Start(ctx, c.cfg.Realm, c.cfg.Journey, req)
	if err != nil {
		p.log.Error("starting a journey", "client", c.cfg.ID, "journey", c.cfg.Journey, "err", err)
		p.writeAuthorizeError(ctx, w, ar, fosite.ErrServerError.WithHint("The sign-in could not be started."))
		return
	}
	a := &authz{
		ID:          randomID(24),
		Query:       ar.GetRequestForm().Encode(),
		ClientID:    c.cfg.ID,
		Browser:     hashCookie(p.browserID(w, r)),
		RequestedAt: now,
		Expires:     now.Add(p.cfg.LoginTTL),
	}
	if resp.Done {
		p.journeyDone(w, r, a, c, resp, now)
		return
	}
	a.Session = resp.Session
	if err := p.saveAuthz(a); err != nil {
		p.log.Error("storing an authorization", "err", err)
		p.writeAuthorizeError(ctx, w, ar, fosite.ErrServerError.WithHint("The sign-in could not be started."))
		return
	}
	http.Redirect(w, r, loginURL(a.ID, false), http.StatusSeeOther)
}

// checkAuthorize applies the rules fosite has no switch for, before any
// code exists: PKCE per client and S256 only, and a journey to run.
func (p *Provider) checkAuthorize(c *client, ar fosite.AuthorizeRequester) error {
	if !c.grants.Has(GrantAuthorizationCode) {
		return fosite.ErrUnauthorizedClient.WithHint("This client may not use the authorization code grant.")
	}
	if !ar.GetResponseTypes().ExactOne("code") {
		return fosite.ErrUnsupportedResponseType.WithHint("Only response_type=code is supported.")
	}
	form := ar.GetRequestForm()
	challenge, method := form.Get("code_challenge"), form.Get("code_challenge_method")
	if challenge == "" && c.pkceRequired() {
		return fosite.ErrInvalidRequest.WithHint("This client must use PKCE: send code_challenge with code_challenge_method=S256.")
	}
	if challenge != "" && method != "S256" {
		return fosite.ErrInvalidRequest.WithHint("code_challenge_method must be S256; plain is not allowed.")
	}
	if c.cfg.Journey == "" {
		return fosite.ErrUnauthorizedClient.WithHint("This client has no journey to sign users in with.")
	}
	prompt := fosite.RemoveEmpty(strings.Split(form.Get("prompt"), " "))
	for _, v := range prompt {
		if !slices.Contains(p.fcfg.AllowedPromptValues, v) {
			return fosite.ErrInvalidRequest.WithHintf("Unknown prompt value %q.", v)
		}
	}
	if slices.Contains(prompt, "none") && len(prompt) > 1 {
		return fosite.ErrInvalidRequest.WithHint("prompt=none cannot be combined with other values.")
	}
	return nil
}

// authorizeError answers a request fosite rejected: a redirect to the
// client when its redirect URI is known good, else a page. A bad redirect
// URI is never redirected to.
func (p *Provider) authorizeError(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, err error) {
	var c *client
	if ar != nil {
		c, _ = ar.GetClient().(*client)
	}
	if c != nil && ar.IsRedirectURIValid() && c != nil && c.redirectRegistered(ar.GetRedirectURI()) {
		p.writeAuthorizeError(r.Context(), w, ar, err)
		return
	}
	rfc := fosite.ErrorToRFC6749Error(err)
	p.errorPage(w, r, http.StatusBadRequest, "This application sent an invalid sign-in request", rfc.GetDescription(), nil)
}

// grantInfo is what a finished login contributes to the grant.
type grantInfo struct {
	user        string
	authTime    time.Time
	requestedAt time.Time
}

// issueCode completes an authorization: scopes granted, the session filled
// with the user, auth_time, acr and claims, and a code sent to the client.
func (p *Provider) issueCode(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, c *client, g grantInfo) {
	ctx := r.Context()
	for _, s := range ar.GetRequestedScopes() {
		ar.GrantScope(s)
	}
	for _, a := range ar.GetRequestedAudience() {
		ar.GrantAudience(a)
	}
	req := p.engineRequest(r, c, ar.GetRequestedScopes())
	sess, err := p.newUserSession(c, g, ar.GetGrantedScopes(), req)
	if err != nil {
		p.writeAuthorizeError(ctx, w, ar, fosite.ErrAccessDenied.WithHint("The user cannot sign in to this application."))
		return
	}
	ar.SetID(newGrantID())
	resp, err := p.f.NewAuthorizeResponse(ctx, ar, sess)
	if err != nil {
		p.writeAuthorizeError(ctx, w, ar, err)
		return
	}
	p.log.Info("authorization granted", "client", c.cfg.ID, "user", g.user, "journey", c.cfg.Journey, "scopes", strings.Join(ar.GetGrantedScopes(), " "))
	// RFC 9207: the client learns which issuer answered, so an attacker's
	// authorization server cannot pass its response off as authd's to a
	// client that talks to several (mix-up attacks).
	resp.AddParameter("iss", p.issuer)
	p.f.WriteAuthorizeResponse(ctx, w, ar, resp)
}

// writeAuthorizeError is fosite's WriteAuthorizeError with RFC 9207's iss
// on the redirect, which error responses must carry as well once discovery
// advertises authorization_response_iss_parameter_supported. fosite adds
// nothing to an error redirect, so the Location it sets is amended before
// the status is written; its JSON answer (no usable redirect URI) is left
// as it is.
func (p *Provider) writeAuthorizeError(ctx context.Context, w http.ResponseWriter, ar fosite.AuthorizeRequester, err error) {
	p.f.WriteAuthorizeError(ctx, &issRedirect{ResponseWriter: w, iss: p.issuer}, ar, err)
}

// issRedirect adds iss to the query of the redirect written through it.
type issRedirect struct {
	http.ResponseWriter
	iss string
}

func (w *issRedirect) WriteHeader(status int) {
	if loc := w.Header().Get("Location"); loc != "" && status >= 300 && status < 400 {
		if u, err := url.Parse(loc); err == nil {
			q := u.Query()
			q.Set("iss", w.iss)
			u.RawQuery = q.Encode()
			w.Header().Set("Location", u.String())
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

// newUserSession builds the session of a grant to a user.
func (p *Provider) newUserSession(c *client, g grantInfo, granted fosite.Arguments, req engine.Request) (*Session, error) {
	claims, err := p.userClaims(c, c.cfg.Realm, g.user, granted, req, time.Now())
	if err != nil {
		return nil, err
	}
	sess := NewSession()
	sess.Realm, sess.User, sess.Journey = c.cfg.Realm, g.user, c.cfg.Journey
	sess.AuthTime = g.authTime.UTC().Truncate(time.Second)
	sess.DefaultSession.Subject = g.user
	sess.DefaultSession.Username = g.user
	idc := sess.IDTokenClaims()
	idc.Subject = g.user
	idc.Issuer = p.issuer
	idc.AuthTime = sess.AuthTime
	idc.RequestedAt = g.requestedAt.UTC().Truncate(time.Second)
	idc.AuthenticationContextClassReference = c.cfg.Journey
	idc.Extra = claims
	return sess, nil
}

// journeyDone finishes an authorization whose journey ended: a code on
// success (and the browser remembers the journey), access_denied on
// failure.
func (p *Provider) journeyDone(w http.ResponseWriter, r *http.Request, a *authz, c *client, resp *engine.Response, now time.Time) {
	if a.Session != "" {
		p.dropAuthz(a)
	}
	ar, err := p.replay(r.Context(), a)
	if err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "This sign-in request is no longer valid",
			"Return to the application and sign in again.", nil)
		return
	}
	if resp.Outcome != engine.Success || resp.User == "" {
		p.log.Info("authorization denied", "client", c.cfg.ID, "journey", c.cfg.Journey, "reason", resp.Reason)
		p.writeAuthorizeError(r.Context(), w, ar, fosite.ErrAccessDenied.WithHint("The user could not be authenticated."))
		return
	}
	p.remember(w, r, c.cfg.Realm, resp.User, c.cfg.Journey, now)
	p.issueCode(w, r, ar, ar.GetClient().(*client), grantInfo{user: resp.User, authTime: now, requestedAt: a.RequestedAt})
}

// replay parses a stored authorization request again through fosite, so a
// configuration reload in between is honoured (a removed client or
// redirect URI fails here).
func (p *Provider) replay(ctx context.Context, a *authz) (fosite.AuthorizeRequester, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, "/oauth2/authorize?"+a.Query, nil)
	if err != nil {
		return nil, err
	}
	ar, err := p.f.NewAuthorizeRequest(ctx, hr)
	if err != nil {
		return nil, err
	}
	c, ok := ar.GetClient().(*client)
	if !ok || c.cfg.ID != a.ClientID || !c.redirectRegistered(ar.GetRedirectURI()) {
		return nil, errors.New("the client changed")
	}
	return ar, nil
}

func (p *Provider) engineRequest(r *http.Request, c *client, scopes []string) engine.Request {
	return engine.Request{
		Protocol:  engine.FrontendOAuth,
		ClientIP:  clientIP(r),
		UserAgent: r.UserAgent(),
		Locale:    locale(r.Header.Get("Accept-Language")),
		OAuth:     &engine.OAuthInfo{ClientID: c.cfg.ID, Scopes: append([]string(nil), scopes...)},
	}
}

func loginURL(id string, poll bool) string {
	u := "/oauth2/login?a=" + url.QueryEscape(id)
	if poll {
		u += "&poll=1"
	}
	return u
}

// errorPage shows a problem to the user; it never redirects.
func (p *Provider) errorPage(w http.ResponseWriter, r *http.Request, status int, heading, detail string, link *pages.Link) {
	pg := &pages.Page{Title: "Sign-in problem", Heading: heading, Realm: "authd", Link: link}
	if detail != "" {
		pg.Messages = []string{detail}
	}
	p.render(w, r, status, pages.Error, pg)
}

func (p *Provider) render(w http.ResponseWriter, r *http.Request, status int, kind string, pg *pages.Page) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	// No form-action: a login form's answer is a redirect to the relying
	// party, which form-action would block in some browsers.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'")
	if pg.Lang == "" {
		pg.Lang = "en"
	}
	w.WriteHeader(status)
	if err := pages.Render(w, kind, pg); err != nil {
		p.log.Error("rendering a page", "kind", kind, "err", err)
	}
}

func (p *Provider) stylesheet(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(pages.Stylesheet)
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
