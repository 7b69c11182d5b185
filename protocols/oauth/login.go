package oauth

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/protocols/oauth/pages"
)

// DefaultPushHold is Config.PushHold when it is zero: how long a push wait
// page's refresh is held open waiting for the answer (the engine wakes it
// at once when the answer comes), so a page refreshing every second costs
// one request per five seconds, not five.
const DefaultPushHold = 5 * time.Second

// pushHold is the configured hold of a wait page's refresh; 0 for none.
func (p *Provider) pushHold() time.Duration {
	switch h := p.cfg.PushHold; {
	case h < 0:
		return 0
	case h == 0:
		return DefaultPushHold
	default:
		return h
	}
}

// maxFormBytes bounds a login form; an answer is a few hundred bytes.
const maxFormBytes = 64 << 10

// loginContext loads the authorization a login page belongs to and checks
// that this browser started it. It answers the request itself when not.
func (p *Provider) loginContext(w http.ResponseWriter, r *http.Request, now time.Time) (*authz, *client, bool) {
	a, err := p.loadAuthz(r.URL.Query().Get("a"), now)
	if err != nil {
		if !errors.Is(err, errNoAuthz) {
			p.log.Error("loading an authorization", "err", err)
		}
		p.errorPage(w, r, http.StatusNotFound, "This sign-in has expired",
			"Return to the application and sign in again.", nil)
		return nil, nil, false
	}
	if b := p.existingBrowserID(r); b == "" || hashCookie(b) != a.Browser {
		p.errorPage(w, r, http.StatusForbidden, "This sign-in belongs to another browser",
			"Return to the application in this browser and sign in again.", nil)
		return nil, nil, false
	}
	fc, err := p.GetClient(r.Context(), a.ClientID)
	if err != nil {
		p.dropAuthz(a)
		p.errorPage(w, r, http.StatusNotFound, "This application is no longer registered", "", nil)
		return nil, nil, false
	}
	return a, fc.(*client), true
}

// loginPage shows the step the journey waits at. With poll=1 (the push
// wait page refreshing itself) it first waits up to pushHold for the answer,
// then moves the journey on.
func (p *Provider) loginPage(w http.ResponseWriter, r *http.Request) {
	now := time.Now().UTC()
	a, c, ok := p.loginContext(w, r, now)
	if !ok {
		return
	}
	s, err := p.eng.Session(a.Session)
	if err != nil {
		p.afterStep(w, r, a, c, nil, err, nil, now)
		return
	}
	if s.Finished {
		p.afterStep(w, r, a, c, nil, &engine.SessionError{ID: a.Session, Err: engine.ErrSessionFinished}, nil, now)
		return
	}
	if r.URL.Query().Get("poll") == "1" && waitOf(s.Pending) != nil {
		hold := p.pushHold()
		if !s.Until.IsZero() {
			hold = min(hold, time.Until(s.Until))
		}
		if hold > 0 {
			t := time.NewTimer(hold)
			woken := p.eng.WakeChan(a.Session)
			select {
			case <-woken:
			case <-t.C:
				p.eng.Unhold(a.Session, woken)
			case <-r.Context().Done():
				t.Stop()
				p.eng.Unhold(a.Session, woken)
				return
			}
			t.Stop()
		}
		resp, err := p.eng.Resume(r.Context(), a.Session, nil, p.engineRequest(r, c, nil))
		p.afterStep(w, r, a, c, resp, err, s.Pending, now)
		return
	}
	if rc := redirectOf(s.Pending); rc != nil {
		p.followRedirect(w, r, a, rc)
		return
	}
	p.renderStep(w, r, a, c, s.Pending, "", http.StatusOK)
}

// loginSubmit takes the answers of a login form.
func (p *Provider) loginSubmit(w http.ResponseWriter, r *http.Request) {
	now := time.Now().UTC()
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "The form could not be read", "", nil)
		return
	}
	a, c, ok := p.loginContext(w, r, now)
	if !ok {
		return
	}
	if !p.csrfOK(r, a.ID) {
		p.errorPage(w, r, http.StatusForbidden, "This form has expired",
			"Go back, reload the page and try again.", &pages.Link{Href: loginURL(a.ID, false), Text: "Reload the sign-in page"})
		return
	}
	s, err := p.eng.Session(a.Session)
	if err != nil {
		p.afterStep(w, r, a, c, nil, err, nil, now)
		return
	}
	answers := answersFromForm(s.Pending, r.PostForm)
	if user, guess := credentialAnswer(s, answers); guess {
		if wait, limited := p.userLimited(w, c.cfg.Realm, user); limited {
			p.renderStep(w, r, a, c, s.Pending, fmt.Sprintf("Too many attempts for this account. Try again in %s.", wait.Round(time.Second)), http.StatusTooManyRequests)
			return
		}
	}
	resp, err := p.eng.Resume(r.Context(), a.Session, answers, p.engineRequest(r, c, nil))
	p.afterStep(w, r, a, c, resp, err, s.Pending, now)
}

// credentialAnswer returns the user an answer is about (the name answered
// now, else the session's user) and whether it carries a password or a
// code, which counts against the per-user limit (a blank code asks for a
// push instead: not a guess).
func credentialAnswer(s *engine.Session, answers []engine.Callback) (user string, guess bool) {
	user = s.User
	for _, a := range answers {
		if a.Value == nil {
			continue
		}
		switch a.Type {
		case engine.CallbackName:
			if *a.Value != "" {
				user = *a.Value
			}
		case engine.CallbackPassword, engine.CallbackCode:
			guess = guess || *a.Value != ""
		}
	}
	return user, guess
}

// answersFromForm maps form fields (cb_<id>) to the pending callbacks.
func answersFromForm(pending []engine.Callback, form url.Values) []engine.Callback {
	out := make([]engine.Callback, 0, len(pending))
	for _, cb := range pending {
		a := engine.Callback{ID: cb.ID, Type: cb.Type}
		switch cb.Type {
		case engine.CallbackWait:
			if form.Get("action") == "exit" {
				v := "exit"
				a.Value = &v
			}
		case engine.CallbackText, engine.CallbackQR:
		default:
			if vs, ok := form["cb_"+cb.ID]; ok && len(vs) > 0 {
				v := vs[0]
				if cb.Type != engine.CallbackPassword {
					v = strings.TrimSpace(v)
				}
				a.Value = &v
			}
		}
		out = append(out, a)
	}
	return out
}

// afterStep answers a Start or Resume of a login: the next page (after a
// redirect, so reloading never resubmits), the relying party on the end,
// or an explanation.
func (p *Provider) afterStep(w http.ResponseWriter, r *http.Request, a *authz, c *client, resp *engine.Response, err error, pending []engine.Callback, now time.Time) {
	var ae *engine.AnswerError
	switch {
	case err == nil && resp.Done:
		p.journeyDone(w, r, a, c, resp, now)
	case err == nil:
		http.Redirect(w, r, loginURL(a.ID, false), http.StatusSeeOther)
	case errors.As(err, &ae):
		msg := "That answer was not accepted. Please try again."
		if strings.Contains(ae.Message, "required") {
			msg = "Please fill in every field."
		}
		p.renderStep(w, r, a, c, pending, msg, http.StatusBadRequest)
	case errors.Is(err, engine.ErrSessionBusy):
		p.renderStep(w, r, a, c, pending, "Your sign-in is busy with another request. Please try again.", http.StatusConflict)
	case errors.Is(err, engine.ErrSessionExpired), errors.Is(err, engine.ErrSessionNotFound), errors.Is(err, engine.ErrSessionFinished):
		p.dropAuthz(a)
		p.errorPage(w, r, http.StatusGone, "This sign-in has expired", "Start again to sign in.",
			&pages.Link{Href: "/oauth2/authorize?" + a.Query, Text: "Start again"})
	default:
		p.log.Error("advancing a login", "client", c.cfg.ID, "err", err)
		p.errorPage(w, r, http.StatusInternalServerError, "Something went wrong", "Please try again later.", nil)
	}
}

func waitOf(cbs []engine.Callback) *engine.Callback {
	for i := range cbs {
		if cbs[i].Type == engine.CallbackWait {
			return &cbs[i]
		}
	}
	return nil
}

// renderStep shows the pending callbacks as one page, its kind chosen by
// what is asked: a wait wins, then a QR code, a lone choice, a code, a
// name or password, and text alone is a message to acknowledge.
func (p *Provider) renderStep(w http.ResponseWriter, r *http.Request, a *authz, c *client, pending []engine.Callback, errMsg string, status int) {
	pg := &pages.Page{
		Realm:  p.realmName(c.cfg.Realm),
		Action: loginURL(a.ID, false),
		CSRF:   p.csrfToken(p.existingBrowserID(r), a.ID),
		Error:  errMsg,
		Submit: "Continue",
	}
	var has = map[string]int{}
	for _, cb := range pending {
		has[cb.Type]++
		id := "cb-" + cb.ID
		name := "cb_" + cb.ID
		switch cb.Type {
		case engine.CallbackName:
			pg.Fields = append(pg.Fields, pages.Field{ID: id, Name: name, Label: or(cb.Prompt, "User name"), Type: "text", Autocomplete: "username", Required: true})
		case engine.CallbackPassword:
			pg.Fields = append(pg.Fields, pages.Field{ID: id, Name: name, Label: or(cb.Prompt, "Password"), Type: "password", Autocomplete: "current-password", Required: true})
		case engine.CallbackCode:
			pg.Fields = append(pg.Fields, pages.Field{ID: id, Name: name, Label: or(strings.TrimPrefix(cb.Prompt, "+"), "Code"), Type: "text", Autocomplete: "one-time-code", InputMode: "numeric"})
		case engine.CallbackChoice:
			pg.Choice = &pages.ChoiceField{Name: name, Legend: or(cb.Prompt, "Choose one"), Options: cb.Options}
		case engine.CallbackText:
			if cb.Message != "" {
				pg.Messages = append(pg.Messages, cb.Message)
			}
			if cb.ChallengeNumber != 0 {
				pg.ChallengeNumber = cb.ChallengeNumber
			}
		case engine.CallbackQR:
			pg.QRs = append(pg.QRs, pages.QRCode{
				Src: "/oauth2/login/qr?a=" + url.QueryEscape(a.ID) + "&cb=" + url.QueryEscape(cb.ID),
				URI: cb.URI, Alt: or(cb.Prompt, "QR code to scan with the authenticator app"),
			})
			if cb.Message != "" {
				pg.Messages = append(pg.Messages, cb.Message)
			}
		case engine.CallbackWait:
			if cb.Message != "" {
				pg.Messages = append(pg.Messages, cb.Message)
			}
			if cb.ChallengeNumber != 0 {
				pg.ChallengeNumber = cb.ChallengeNumber
			}
		}
	}
	kind := pages.Message
	switch {
	case has[engine.CallbackWait] > 0:
		kind = pages.Wait
		pg.Title, pg.Heading = "Approve the sign-in", "Approve the sign-in on your phone"
		if has[engine.CallbackQR] > 0 {
			// push_registration waits for the phone to enrol from the QR code.
			pg.Title, pg.Heading = "Set up your authenticator", "Scan this code with your authenticator app"
		}
		pg.RefreshSeconds, pg.RefreshURL = 1, loginURL(a.ID, true)
		if wc := waitOf(pending); wc != nil && wc.Exit {
			pg.ExitLabel = "Cancel"
		}
		pg.Fields, pg.Choice = nil, nil
	case has[engine.CallbackQR] > 0:
		kind = pages.QR
		pg.Title, pg.Heading = "Set up your authenticator", "Scan this code with your authenticator app"
	case has[engine.CallbackChoice] > 0:
		kind = pages.Choice
		pg.Title, pg.Heading = "Choose how to continue", pg.Choice.Legend
		pg.Buttons = len(pg.Fields) == 0 && has[engine.CallbackChoice] == 1
	case has[engine.CallbackCode] > 0:
		kind = pages.Code
		pg.Title, pg.Heading, pg.Submit = "Enter your code", "Enter your code", "Verify"
	case has[engine.CallbackName] > 0 || has[engine.CallbackPassword] > 0:
		kind = pages.Credentials
		pg.Title, pg.Heading, pg.Submit = "Sign in", "Sign in", "Sign in"
	default:
		pg.Title, pg.Heading = "Sign in", "Sign in"
	}
	p.render(w, r, status, kind, pg)
}

// loginQR serves a pending QR callback as a PNG.
func (p *Provider) loginQR(w http.ResponseWriter, r *http.Request) {
	a, _, ok := p.loginContext(w, r, time.Now().UTC())
	if !ok {
		return
	}
	s, err := p.eng.Session(a.Session)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	id := r.URL.Query().Get("cb")
	for _, cb := range s.Pending {
		if cb.Type == engine.CallbackQR && cb.ID == id && cb.URI != "" {
			png, err := qrcode.Encode(cb.URI, qrcode.Medium, 256)
			if err != nil {
				p.log.Error("encoding a QR code", "err", err)
				http.Error(w, "the QR code could not be drawn", http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "image/png")
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			_, _ = w.Write(png)
			return
		}
	}
	http.NotFound(w, r)
}

func (p *Provider) realmName(realm string) string {
	if prog := p.eng.Program(); prog != nil {
		if rm := prog.Realms[realm]; rm != nil && rm.DisplayName != "" {
			return rm.DisplayName
		}
	}
	return realm
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
