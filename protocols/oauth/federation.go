package oauth

import (
	"errors"
	"net/http"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/protocols/federation"
)

// cookieFederation names the login (authorization id) a browser was sent
// to an upstream identity provider for; the federation callback only
// completes that login's session. It lives as long as a federation state.
const cookieFederation = "authd_federation"

// errOtherBrowser refuses a federation callback for a login page session
// that this browser did not send upstream.
var errOtherBrowser = errors.New("oauth: the upstream login belongs to another browser")

// SetFederation lets the login pages follow federated_login's redirect
// callback and serves federation.CallbackPath; without it the callback
// path answers 404.
func (p *Provider) SetFederation(f *federation.Service) { p.fed.Store(f) }

// redirectOf returns the pending redirect callback (federated_login), if any.
func redirectOf(cbs []engine.Callback) *engine.Callback {
	for i := range cbs {
		if cbs[i].Type == engine.CallbackRedirect && cbs[i].URI != "" {
			return &cbs[i]
		}
	}
	return nil
}

// followRedirect sends the browser to the upstream provider with a 302,
// remembering in a cookie which login it went for.
func (p *Provider) followRedirect(w http.ResponseWriter, r *http.Request, a *authz, rc *engine.Callback) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieFederation, Value: a.ID, Path: federation.CallbackPath,
		MaxAge: int(federation.StateTTL / time.Second), HttpOnly: true, Secure: p.secure,
		SameSite: http.SameSiteLaxMode, // sent on the provider's top-level redirect back
	})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, rc.URI, http.StatusFound)
}

// federationCallback is federation.CallbackPath. For a login page session
// it requires the browser the login was sent upstream from (the
// federation cookie names the login, the browser cookie must match it),
// completes the upstream login, resumes the journey and goes on as a
// submitted login form does. A journey API session is completed with a
// page that says to return to the application.
func (p *Provider) federationCallback(w http.ResponseWriter, r *http.Request) {
	fed := p.fed.Load()
	if fed == nil {
		http.NotFound(w, r)
		return
	}
	now := time.Now().UTC()
	var a *authz
	if ck, err := r.Cookie(cookieFederation); err == nil && ck.Value != "" {
		if x, err := p.loadAuthz(ck.Value, now); err == nil {
			if b := p.existingBrowserID(r); b != "" && hashCookie(b) == x.Browser {
				a = x
			}
		}
	}
	sid, err := fed.Complete(r.Context(), r.URL.Query(), now, func(session, protocol string) error {
		if protocol == engine.FrontendOAuth && (a == nil || a.Session != session) {
			return errOtherBrowser
		}
		return nil
	})
	switch {
	case errors.Is(err, federation.ErrBadState), errors.Is(err, errOtherBrowser):
		p.errorPage(w, r, http.StatusBadRequest, "This sign-in could not be completed",
			"The answer of the identity provider was already used, has expired, or belongs to another sign-in. Return to the application and sign in again.", nil)
		return
	case err != nil:
		p.log.Error("completing an upstream login", "err", err)
		p.errorPage(w, r, http.StatusInternalServerError, "Something went wrong", "Please try again later.", nil)
		return
	}
	if a == nil || a.Session != sid {
		federation.Page(w, http.StatusOK, "Signed in at your identity provider", "Return to the application to continue.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieFederation, Value: "", Path: federation.CallbackPath, MaxAge: -1,
		HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
	fc, err := p.GetClient(r.Context(), a.ClientID)
	if err != nil {
		p.dropAuthz(a)
		p.errorPage(w, r, http.StatusNotFound, "This application is no longer registered", "", nil)
		return
	}
	c := fc.(*client)
	s, err := p.eng.Session(a.Session)
	if err != nil {
		p.afterStep(w, r, a, c, nil, err, nil, now)
		return
	}
	rc := redirectOf(s.Pending)
	if rc == nil {
		http.Redirect(w, r, loginURL(a.ID, false), http.StatusSeeOther)
		return
	}
	v := "done"
	answers := []engine.Callback{{ID: rc.ID, Type: rc.Type, Value: &v}}
	resp, err := p.eng.Resume(r.Context(), a.Session, answers, p.engineRequest(r, c, nil))
	p.afterStep(w, r, a, c, resp, err, s.Pending, now)
}
