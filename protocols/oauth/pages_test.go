package oauth_test

import (
	"bytes"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/protocols/oauth"
	"github.com/authd/authd/protocols/oauth/internal/oauthtest"
)

// startLogin begins an authorization and returns the first login page's
// URL.
func startLogin(t *testing.T, b *browser, client string, extra url.Values) string {
	t.Helper()
	if extra == nil {
		extra = url.Values{}
	}
	if _, has := extra["code_challenge"]; !has {
		_, c := pkcePair()
		extra.Set("code_challenge", c)
		extra.Set("code_challenge_method", "S256")
	}
	r := b.get(authorizeURL(b.fx, client, extra))
	if !strings.HasPrefix(r.location, "/oauth2/login?a=") {
		t.Fatalf("authorize: %d %q", r.status, r.location)
	}
	return r.location
}

// submit posts the page's form with the given field values.
func (b *browser) submit(page *response, fields map[string]string) *response {
	b.t.Helper()
	action, vals, _ := form(b.t, page.body)
	for k, v := range fields {
		vals.Set(k, v)
	}
	return b.post(action, vals)
}

func TestLoginPagesAreAccessibleAndSafe(t *testing.T) {
	fx := start(t)
	b := newBrowser(t, fx)
	loc := startLogin(t, b, "web", nil)
	page := b.get(loc)
	mustEqual(t, "status", page.status, http.StatusOK)
	for _, want := range []string{
		`<html lang="en">`, `<label for="cb-username">User name</label>`, `id="cb-username"`, `autocomplete="username"`,
		`<label for="cb-password">Password</label>`, `type="password"`, `autocomplete="current-password"`,
		`Example Corp`, `name="csrf"`,
	} {
		if !strings.Contains(page.body, want) {
			t.Errorf("login page lacks %s", want)
		}
	}
	if strings.Contains(page.body, "<script") {
		t.Error("the login page uses JavaScript")
	}
	csp := page.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	mustEqual(t, "Cache-Control", page.header.Get("Cache-Control"), "no-store")

	t.Run("csrf", func(t *testing.T) {
		action, _, _ := form(t, page.body)
		r := b.post(action, url.Values{"cb_username": {oauthtest.Alice}, "cb_password": {oauthtest.AlicePassword}})
		mustEqual(t, "without the token", r.status, http.StatusForbidden)
		r = b.post(action, url.Values{"csrf": {"forged"}, "cb_username": {oauthtest.Alice}, "cb_password": {oauthtest.AlicePassword}})
		mustEqual(t, "with a forged token", r.status, http.StatusForbidden)
	})

	t.Run("another-browser", func(t *testing.T) {
		other := newBrowser(t, fx)
		r := other.get(loc)
		mustEqual(t, "another browser", r.status, http.StatusForbidden)
		action, vals, _ := form(t, page.body)
		vals.Set("cb_username", oauthtest.Alice)
		vals.Set("cb_password", oauthtest.AlicePassword)
		r = other.post(action, vals)
		mustEqual(t, "another browser posting a stolen form", r.status, http.StatusForbidden)
	})

	t.Run("wrong-answer-then-right", func(t *testing.T) {
		r := b.submit(page, map[string]string{"cb_username": oauthtest.Alice})
		mustEqual(t, "missing password", r.status, http.StatusBadRequest)
		if !strings.Contains(r.body, `role="alert"`) || !strings.Contains(r.body, `aria-invalid="true"`) {
			t.Error("the error is not announced to screen readers")
		}
	})

	t.Run("choice-code-pages", func(t *testing.T) {
		r := b.submit(page, map[string]string{"cb_username": oauthtest.Alice, "cb_password": oauthtest.AlicePassword})
		mustEqual(t, "after credentials", r.status, http.StatusSeeOther)
		choice := b.get(r.location)
		for _, want := range []string{`role="group"`, `aria-label="How do you want to confirm it is you?"`, `name="cb_choice" value="code"`} {
			if !strings.Contains(choice.body, want) {
				t.Errorf("choice page lacks %s", want)
			}
		}
		r = b.submit(choice, map[string]string{"cb_choice": "code"})
		code := b.get(r.location)
		for _, want := range []string{`inputmode="numeric"`, `autocomplete="one-time-code"`, `<label for="cb-code">`} {
			if !strings.Contains(code.body, want) {
				t.Errorf("code page lacks %s", want)
			}
		}
		r = b.submit(code, map[string]string{"cb_code": "000000"})
		u, _ := url.Parse(r.location)
		mustEqual(t, "a wrong code ends in", u.Query().Get("error"), "access_denied")
		// The finished login's pages are gone.
		mustEqual(t, "finished login page", b.get(loc).status, http.StatusNotFound)
	})
}

func TestPushWaitPageRefreshesItself(t *testing.T) {
	fx := start(t)
	b := newBrowser(t, fx)
	page := b.get(startLogin(t, b, "web", nil))
	r := b.submit(page, map[string]string{"cb_username": oauthtest.Alice, "cb_password": oauthtest.AlicePassword})
	r = b.submit(b.get(r.location), map[string]string{"cb_choice": "push"})
	wait := b.get(r.location)
	m := regexp.MustCompile(`<meta http-equiv="refresh" content="1;url=([^"]+)">`).FindStringSubmatch(wait.body)
	if m == nil {
		t.Fatalf("no meta refresh on the wait page:\n%s", wait.body)
	}
	if !strings.Contains(wait.body, "<strong>42</strong>") {
		t.Error("the challenge number is not shown")
	}
	poll := html(m[1])
	// Polling before the approval holds, then shows the wait page again.
	t0 := time.Now()
	again := b.get(poll)
	if again.status != http.StatusSeeOther || time.Since(t0) < time.Second {
		t.Fatalf("poll before approval: %d after %v", again.status, time.Since(t0))
	}
	// The phone approves while a poll is held: the poll returns at once.
	go func() {
		time.Sleep(300 * time.Millisecond)
		oauthtest.Approve(oauthtest.Alice)
	}()
	t0 = time.Now()
	done := b.get(poll)
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("the held poll took %v after the approval", d)
	}
	u, _ := url.Parse(done.location)
	if u.Query().Get("code") == "" {
		t.Fatalf("after approval: %d %q", done.status, done.location)
	}
}

func TestPushWaitCanBeCancelled(t *testing.T) {
	fx := start(t)
	b := newBrowser(t, fx)
	page := b.get(startLogin(t, b, "web", nil))
	r := b.submit(page, map[string]string{"cb_username": oauthtest.Alice, "cb_password": oauthtest.AlicePassword})
	r = b.submit(b.get(r.location), map[string]string{"cb_choice": "push"})
	wait := b.get(r.location)
	if !strings.Contains(wait.body, `value="exit"`) {
		t.Fatal("no cancel button")
	}
	r = b.submit(wait, map[string]string{"action": "exit"})
	u, _ := url.Parse(r.location)
	mustEqual(t, "cancelled", u.Query().Get("error"), "access_denied")
}

func TestEnrolmentQRPage(t *testing.T) {
	fx := start(t)
	b := newBrowser(t, fx)
	page := b.get(startLogin(t, b, "enrol", url.Values{"scope": {"openid"}}))
	r := b.submit(page, map[string]string{"cb_username": oauthtest.Alice, "cb_password": oauthtest.AlicePassword})
	qr := b.get(r.location)
	m := regexp.MustCompile(`<img src="([^"]+)" alt="([^"]+)"`).FindStringSubmatch(qr.body)
	if m == nil {
		t.Fatalf("no QR image:\n%s", qr.body)
	}
	if !strings.Contains(qr.body, "otpauth://totp/") {
		t.Error("the URI is not shown for people who cannot scan")
	}
	img := b.get(html(m[1]))
	mustEqual(t, "QR content type", img.header.Get("Content-Type"), "image/png")
	if _, err := png.Decode(bytes.NewReader([]byte(img.body))); err != nil {
		t.Fatalf("QR is not a PNG: %v", err)
	}
	r = b.submit(qr, nil)
	u, _ := url.Parse(r.location)
	if u.Query().Get("code") == "" {
		t.Fatalf("after enrolment: %q", r.location)
	}
}

func TestRPInitiatedLogout(t *testing.T) {
	fx := start(t)
	b := newBrowser(t, fx)
	code, _ := loginCode(t, b, "portal", url.Values{"code_challenge": nil}, alicePassword)
	tok := exchange(t, fx, "portal", oauthtest.WebSecret, code, "").ok(t)

	bad := b.get("/oauth2/logout?" + url.Values{"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {"https://evil.example/"}}.Encode())
	if bad.status != http.StatusBadRequest || bad.location != "" {
		t.Fatalf("unregistered post_logout_redirect_uri: %d %q", bad.status, bad.location)
	}
	forged := b.get("/oauth2/logout?" + url.Values{"id_token_hint": {tok.IDToken[:len(tok.IDToken)-4] + "AAAA"}}.Encode())
	mustEqual(t, "forged hint", forged.status, http.StatusBadRequest)

	// A redirect URI is not a post-logout redirect URI, and the match is exact.
	for _, uri := range []string{fx.Callback, fx.URL + "/app/signed-out/", fx.URL + "/app/signed-out?x=1"} {
		r := b.get("/oauth2/logout?" + url.Values{"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {uri}}.Encode())
		if r.status != http.StatusBadRequest || r.location != "" {
			t.Fatalf("post_logout_redirect_uri %s: %d %q", uri, r.status, r.location)
		}
	}
	back := fx.URL + "/app/signed-out"
	r := b.get("/oauth2/logout?" + url.Values{"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {back}, "state": {"s1"}}.Encode())
	mustEqual(t, "logout redirect", r.location, back+"?state=s1")
	// The SSO session is gone.
	p := b.get(authorizeURL(fx, "portal", url.Values{"prompt": {"none"}}))
	u, _ := url.Parse(p.location)
	mustEqual(t, "after logout", u.Query().Get("error"), "login_required")
}

func TestLogoutWithoutHintAsksFirst(t *testing.T) {
	fx := start(t)
	b := newBrowser(t, fx)
	loginCode(t, b, "portal", url.Values{"code_challenge": nil}, alicePassword)
	confirm := b.get("/oauth2/logout")
	mustEqual(t, "confirmation page", confirm.status, http.StatusOK)
	// A cross-site POST without the token does not sign out.
	b.post("/oauth2/logout", url.Values{})
	p := b.get(authorizeURL(fx, "portal", url.Values{"prompt": {"none"}}))
	if u, _ := url.Parse(p.location); u.Query().Get("code") == "" {
		t.Fatalf("a forged logout ended the session: %q", p.location)
	}
	r := b.submit(confirm, nil)
	mustEqual(t, "signed out", r.status, http.StatusOK)
	p = b.get(authorizeURL(fx, "portal", url.Values{"prompt": {"none"}}))
	u, _ := url.Parse(p.location)
	mustEqual(t, "after logout", u.Query().Get("error"), "login_required")
}

func TestSSOCookieAttributes(t *testing.T) {
	fx := start(t)
	b := newBrowser(t, fx)
	page := b.get(startLogin(t, b, "portal", url.Values{"code_challenge": nil}))
	action, vals, _ := form(t, page.body)
	vals.Set("cb_username", oauthtest.Alice)
	vals.Set("cb_password", oauthtest.AlicePassword)
	req, _ := http.NewRequest(http.MethodPost, fx.URL+action, strings.NewReader(vals.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var sso *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "authd_sso" {
			sso = c
		}
	}
	if sso == nil {
		t.Fatal("no SSO cookie")
	}
	if !sso.HttpOnly || sso.SameSite != http.SameSiteLaxMode {
		t.Errorf("SSO cookie %+v: want HttpOnly, SameSite=Lax", sso)
	}
	if sso.Secure {
		t.Error("Secure on an http issuer would lose the cookie")
	}
}

// cookieRecorder remembers every Set-Cookie the provider sends.
type cookieRecorder struct {
	next    http.RoundTripper
	cookies []*http.Cookie
}

func (c *cookieRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err == nil {
		c.cookies = append(c.cookies, resp.Cookies()...)
	}
	return resp, err
}

// TestSSOSessionLifetimeFromRealm: the realm's sso_session_ttl (2h in the
// fixture) decides the SSO cookie's lifetime, over the provider default.
func TestSSOSessionLifetimeFromRealm(t *testing.T) {
	fx := start(t, func(c *oauth.Config) { c.SSOTTL = time.Minute })
	b := newBrowser(t, fx)
	rec := &cookieRecorder{next: http.DefaultTransport}
	b.c.Transport = rec
	loginCode(t, b, "portal", url.Values{"code_challenge": nil}, alicePassword)
	var sso *http.Cookie
	for _, c := range rec.cookies {
		if c.Name == "authd_sso" {
			sso = c
		}
	}
	if sso == nil {
		t.Fatal("no SSO cookie was set")
	}
	mustEqual(t, "SSO cookie Max-Age", sso.MaxAge, int((2 * time.Hour).Seconds()))
}
