package oauth

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/authd/authd/protocols/oauth/pages"
)

// logout is RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
// The browser's SSO session ends at once only when a valid id_token_hint
// belongs to it: same user and realm, issued during this session. The spec
// has the OP ask the user when the hint is missing or "does not belong to
// the current OP session ... and/or currently logged in End-User", and a
// plain GET is all a third party needs: a link carrying any ID token authd
// ever signed (an old one, another user's) would otherwise sign people
// out. So in every other case the user confirms with a CSRF-protected
// form. A hint authd did not sign, or not for the client named, is refused.
// post_logout_redirect_uri is followed only when it is registered for the
// client the hint (or client_id) names.
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

	var h *idTokenHint
	if hint != "" {
		var err error
		h, err = p.verifyIDTokenHint(hint)
		if err != nil || (clientID != "" && !contains(h.aud, clientID)) {
			p.errorPage(w, r, http.StatusBadRequest, "This sign-out request is not valid",
				"The application sent an ID token authd did not issue to it.", nil)
			return
		}
		if clientID == "" && len(h.aud) == 1 {
			clientID = h.aud[0]
		}
	}
	c := p.clients.Load().byID[clientID]
	if redirect != "" {
		if c == nil || !c.logoutRedirectRegistered(redirect) {
			p.errorPage(w, r, http.StatusBadRequest, "This sign-out request is not valid",
				"The address to return to after signing out is not registered for the application, so authd will not send you there.", nil)
			return
		}
	}

	now := time.Now()
	s, _ := p.sso(r, now)
	confirmed := r.Method == http.MethodPost && p.csrfOK(r, "logout")
	if !confirmed && !hintEndsSession(h, c, s) {
		if h != nil && s != nil {
			p.log.Info("logout hint does not belong to the browser's session; asking the user", "client", clientID)
		}
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
	if s != nil {
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

// hintEndsSession reports whether a verified hint (nil: none) of client c
// may end the browser's SSO session s without asking: its subject is the
// session's user in the client's realm, and it was issued during the
// session (an ID token may have expired, which the spec allows, but not
// predate the sign-in). With no session there is nothing to end, and a
// verified hint needs no confirmation to clear the cookie and go back.
func hintEndsSession(h *idTokenHint, c *client, s *ssoSession) bool {
	switch {
	case h == nil:
		return false
	case s == nil:
		return true
	case c == nil || c.cfg.Realm != s.Realm || h.sub != s.User:
		return false
	default:
		return s.Started.IsZero() || !h.iat.Before(s.Started)
	}
}

// idTokenHint is what logout reads from a verified id_token_hint.
type idTokenHint struct {
	aud []string
	sub string
	iat time.Time
}

// verifyIDTokenHint checks that authd signed the token (it may have
// expired: RP-initiated logout allows that) and returns its audience,
// subject and issue time.
func (p *Provider) verifyIDTokenHint(tok string) (*idTokenHint, error) {
	_, payload, err := p.ring.Load().verify(tok)
	if err != nil {
		return nil, err
	}
	var cl struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Iat int64           `json:"iat"`
	}
	if err := json.Unmarshal(payload, &cl); err != nil || cl.Iss != p.issuer {
		return nil, errBadHint
	}
	var aud []string
	if json.Unmarshal(cl.Aud, &aud) != nil {
		var one string
		if json.Unmarshal(cl.Aud, &one) != nil {
			return nil, errBadHint
		}
		aud = []string{one}
	}
	return &idTokenHint{aud: aud, sub: cl.Sub, iat: time.Unix(cl.Iat, 0)}, nil
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
