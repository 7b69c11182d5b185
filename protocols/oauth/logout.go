package oauth

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/authd/authd/protocols/oauth/pages"
)

// logout is RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
// With a valid id_token_hint the browser's SSO session ends at once;
// without one the user confirms with a CSRF-protected form, so a third
// party cannot sign people out with a link. post_logout_redirect_uri is
// followed only when it is registered for the client the hint (or
// client_id) names.
func (p *Provider) logout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "The sign-out request could not be read", "", nil)
		return
	}
	hint := r.Form.Get("id_token_hint")
	clientID := r.Form.Get("client_id")
	redirect := r.Form.Get("post_logout_redirect_uri")
	state := r.Form.Get("state")

	hintOK, hintSub := false, ""
	if hint != "" {
		aud, sub, err := p.verifyIDTokenHint(hint)
		if err != nil || (clientID != "" && !contains(aud, clientID)) {
			p.errorPage(w, r, http.StatusBadRequest, "This sign-out request is not valid",
				"The application sent an ID token authd did not issue to it.", nil)
			return
		}
		hintOK, hintSub = true, sub
		if clientID == "" && len(aud) == 1 {
			clientID = aud[0]
		}
	}
	if redirect != "" {
		c := p.clients.Load().byID[clientID]
		if c == nil || !c.logoutRedirectRegistered(redirect) {
			p.errorPage(w, r, http.StatusBadRequest, "This sign-out request is not valid",
				"The address to return to after signing out is not registered for the application, so authd will not send you there.", nil)
			return
		}
	}

	confirmed := r.Method == http.MethodPost && p.csrfOK(r, "logout")
	if !hintOK && !confirmed {
		pg := &pages.Page{
			Title: "Sign out", Heading: "Sign out?", Realm: "authd",
			Messages: []string{"Do you want to sign out of all applications in this browser?"},
			Action:   "/oauth2/logout", CSRF: p.csrfToken(p.browserID(w, r), "logout"), Submit: "Sign out",
			Hidden: map[string]string{},
		}
		for k, v := range map[string]string{"client_id": clientID, "post_logout_redirect_uri": redirect, "state": state} {
			if v != "" {
				pg.Hidden[k] = v
			}
		}
		p.render(w, r, http.StatusOK, pages.Logout, pg)
		return
	}
	now := time.Now()
	if s, _ := p.sso(r, now); s != nil {
		if hintOK && hintSub != s.User {
			p.log.Info("logout hint names another user than the session; ending the session anyway")
		}
		p.log.Info("signed out", "user", s.User, "client", clientID)
	}
	p.forget(w, r)
	if redirect != "" {
		u, _ := url.Parse(redirect)
		if state != "" {
			q := u.Query()
			q.Set("state", state)
			u.RawQuery = q.Encode()
		}
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return
	}
	p.render(w, r, http.StatusOK, pages.Error, &pages.Page{Title: "Signed out", Heading: "You are signed out", Realm: "authd",
		Messages: []string{"You can close this window."}})
}

// verifyIDTokenHint checks that authd signed the token (it may have
// expired: RP-initiated logout allows that) and returns its audience and
// subject.
func (p *Provider) verifyIDTokenHint(tok string) ([]string, string, error) {
	_, payload, err := p.ring.Load().verify(tok)
	if err != nil {
		return nil, "", err
	}
	var cl struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
	}
	if err := json.Unmarshal(payload, &cl); err != nil || cl.Iss != p.issuer {
		return nil, "", errBadHint
	}
	var aud []string
	if json.Unmarshal(cl.Aud, &aud) != nil {
		var one string
		if json.Unmarshal(cl.Aud, &one) != nil {
			return nil, "", errBadHint
		}
		aud = []string{one}
	}
	return aud, cl.Sub, nil
}

type hintError string

func (e hintError) Error() string { return string(e) }

const errBadHint = hintError("the id_token_hint is not an ID token of this issuer")

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
