package oauth_test

import (
	"bytes"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
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

// pushWaitPage logs alice in at "web" up to the push wait page and returns
// it with the URL its refresh loads.
func pushWaitPage(t *testing.T, b *browser) (wait *response, refresh string) {
	t.Helper()
	page := b.get(startLogin(t, b, "web", nil))
	r := b.submit(page, map[string]string{"cb_username": oauthtest.Alice, "cb_password": oauthtest.AlicePassword})
	r = b.submit(b.get(r.location), map[string]string{"cb_choice": "push"})
	wait = b.get(r.location)
	return wait, waitRefresh(t, wait)
}

// waitRefresh checks that a page is the push wait page — the challenge
// number, a refresh of itself every second without JavaScript — and
// returns the URL the refresh loads.
func waitRefresh(t *testing.T, page *response) string {
	t.Helper()
	mustEqual(t, "wait page status", page.status, http.StatusOK)
	m := regexp.MustCompile(`<meta http-equiv="refresh" content="1;url=([^"]+)">`).FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("no meta refresh on the wait page:\n%s", page.body)
	}
	if !strings.Contains(page.body, "<strong>42</strong>") {
		t.Error("the challenge number is not shown")
	}
	if strings.Contains(page.body, "<script") {
		t.Error("the wait page uses JavaScript")
	}
	u, err := url.Parse(html(m[1]))
	if err != nil || u.Query().Get("poll") != "1" || u.Query().Get("a") == "" {
		t.Fatalf("the refresh loads %q, want the login page with poll=1", m[1])
	}
	return html(m[1])
}

// TestPushWaitPageRefreshesItself: the wait page refreshes itself; each
// refresh before the answer leads back to the wait page; the refresh after
// the phone's approval moves the journey on and returns the browser to the
// relying party with a code. Asserted on behaviour, never on durations.
func TestPushWaitPageRefreshesItself(t *testing.T) {
	t.Run("refreshes-until-approved", func(t *testing.T) {
		// Not held: each refresh answers at once, so the test sees every
		// round trip of the page without waiting on the hold.
		fx := start(t, func(c *oauth.Config) { c.PushHold = -1 })
		b := newBrowser(t, fx)
		wait, refresh := pushWaitPage(t, b)
		waitURL := ""
		for i := range 3 {
			again := b.get(refresh)
			mustEqual(t, "a refresh before the answer", again.status, http.StatusSeeOther)
			if u, _ := url.Parse(again.location); u == nil || u.Path != "/oauth2/login" || u.Query().Get("code") != "" {
				t.Fatalf("refresh %d before the answer went to %q", i, again.location)
			}
			if waitURL != "" && again.location != waitURL {
				t.Errorf("refresh %d went to %q, then %q", i, waitURL, again.location)
			}
			waitURL = again.location
			wait = b.get(again.location)
			refresh = waitRefresh(t, wait)
		}
		if !oauthtest.Approve(oauthtest.Alice) {
			t.Fatal("no push pending")
		}
		done := b.get(refresh)
		u, _ := url.Parse(done.location)
		if done.status != http.StatusSeeOther || u == nil || !strings.HasPrefix(done.location, fx.Callback) || u.Query().Get("code") == "" {
			t.Fatalf("the refresh after the approval: %d %q", done.status, done.location)
		}
		code := codeFrom(t, fx, u)
		if code == "" {
			t.Fatal("no code")
		}
		// The finished login's wait page is gone.
		mustEqual(t, "the wait page after the login", b.get(refresh).status, http.StatusNotFound)
	})

	t.Run("held-refresh-ends-with-the-answer", func(t *testing.T) {
		// With the default hold, a refresh in flight when the phone answers
		// returns with the result, not the wait page.
		fx := start(t)
		b := newBrowser(t, fx)
		_, refresh := pushWaitPage(t, b)
		type result struct {
			status   int
			location string
			err      error
		}
		held := make(chan result, 1)
		go func() {
			resp, err := b.c.Get(fx.URL + refresh)
			if err != nil {
				held <- result{err: err}
				return
			}
			resp.Body.Close()
			held <- result{status: resp.StatusCode, location: resp.Header.Get("Location")}
		}()
		if !oauthtest.Approve(oauthtest.Alice) {
			t.Fatal("no push pending")
		}
		r := <-held
		if r.err != nil {
			t.Fatal(r.err)
		}
		u, _ := url.Parse(r.location)
		if r.status != http.StatusSeeOther || u == nil || u.Query().Get("code") == "" {
			t.Fatalf("the held refresh: %d %q", r.status, r.location)
		}
	})
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

// ssoAlive reports whether the browser still has an SSO session that
// portal accepts.
func ssoAlive(t *testing.T, b *browser) bool {
	t.Helper()
	r := b.get(authorizeURL(b.fx, "portal", url.Values{"prompt": {"none"}}))
	u, err := url.Parse(r.location)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("code") != ""
}

// An ID token of another user is no reason to end this browser's session
// on a GET: the user is asked, and the post-logout redirect still applies.
func TestLogoutHintOfAnotherUserAsks(t *testing.T) {
	fx := start(t)
	alice, bob := newBrowser(t, fx), newBrowser(t, fx)
	loginCode(t, alice, "portal", url.Values{"code_challenge": nil}, alicePassword)
	code, _ := loginCode(t, bob, "portal", url.Values{"code_challenge": nil}, answers{{"username": oauthtest.Bob, "password": oauthtest.BobPassword}})
	bobs := exchange(t, fx, "portal", oauthtest.WebSecret, code, "").ok(t)

	back := fx.URL + "/app/signed-out"
	confirm := alice.get("/oauth2/logout?" + url.Values{"id_token_hint": {bobs.IDToken}, "post_logout_redirect_uri": {back}, "state": {"s1"}}.Encode())
	if confirm.status != http.StatusOK || confirm.location != "" || !strings.Contains(confirm.body, `name="csrf"`) {
		t.Fatalf("bob's hint in alice's browser: %d %q, want the confirmation page", confirm.status, confirm.location)
	}
	if !ssoAlive(t, alice) {
		t.Fatal("another user's ID token ended alice's session without asking")
	}
	hidden := url.Values{}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(confirm.body, -1) {
		hidden.Set(html(m[1]), html(m[2]))
	}
	r := alice.post("/oauth2/logout", hidden)
	mustEqual(t, "redirect after confirming", r.location, back+"?state=s1")
	if ssoAlive(t, alice) {
		t.Fatal("the confirmed logout left the session")
	}
	// An unregistered post_logout_redirect_uri is still refused outright.
	bad := bob.get("/oauth2/logout?" + url.Values{"id_token_hint": {bobs.IDToken}, "post_logout_redirect_uri": {"https://evil.example/"}}.Encode())
	mustEqual(t, "unregistered post_logout_redirect_uri", bad.status, http.StatusBadRequest)
}

// An ID token from an earlier session of the same user in this browser
// (however old: expired hints are allowed) does not end the current one
// without asking; one issued during it does.
func TestLogoutHintOfEarlierSessionAsks(t *testing.T) {
	fx := start(t)
	b := newBrowser(t, fx)
	code, _ := loginCode(t, b, "portal", url.Values{"code_challenge": nil}, alicePassword)
	first := exchange(t, fx, "portal", oauthtest.WebSecret, code, "").ok(t)
	r := b.get("/oauth2/logout?" + url.Values{"id_token_hint": {first.IDToken}}.Encode())
	mustEqual(t, "own hint signs out at once", r.status, http.StatusOK)
	if ssoAlive(t, b) {
		t.Fatal("the session outlived its own hint")
	}
	// iat has whole seconds: sign in again in a later second.
	iat, _ := claimsOf(t, first.IDToken)["iat"].(float64)
	waitPast(time.Unix(int64(iat)+1, 0))
	code, _ = loginCode(t, b, "portal", url.Values{"code_challenge": nil}, alicePassword)
	second := exchange(t, fx, "portal", oauthtest.WebSecret, code, "").ok(t)

	old := b.get("/oauth2/logout?" + url.Values{"id_token_hint": {first.IDToken}}.Encode())
	if old.status != http.StatusOK || !strings.Contains(old.body, `name="csrf"`) {
		t.Fatalf("hint of the earlier session: %d, want the confirmation page", old.status)
	}
	if !ssoAlive(t, b) {
		t.Fatal("a hint of an earlier session ended the current one without asking")
	}
	b.get("/oauth2/logout?" + url.Values{"id_token_hint": {second.IDToken}}.Encode())
	if ssoAlive(t, b) {
		t.Fatal("the current session's hint did not sign out")
	}
}

// TestCookieNamesFollowIssuerScheme: an https issuer's cookies carry the
// __Host- prefix (Secure, Path=/, no Domain), so a sibling subdomain can
// neither plant nor shadow them; a plain-http issuer keeps the bare names,
// which the prefix would not allow. Either reads only the name in force.
func TestCookieNamesFollowIssuerScheme(t *testing.T) {
	for _, tc := range []struct {
		name         string
		https        bool
		sso, browser string
		browserPath  string
		other        string // the name not in force
		secure       bool
	}{
		{"https", true, "__Host-authd_sso", "__Host-authd_browser", "/", "authd_sso", true},
		{"http", false, "authd_sso", "authd_browser", "/oauth2/", "__Host-authd_sso", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fx *oauthtest.Fixture
			next := http.DefaultTransport
			if tc.https {
				// The provider behind TLS, with the server's URL as its
				// issuer: the cookie jar keeps Secure cookies for https only.
				var h atomic.Value
				ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					h.Load().(http.Handler).ServeHTTP(w, r)
				}))
				t.Cleanup(ts.Close)
				tls := *start(t, func(c *oauth.Config) { c.Issuer = ts.URL })
				h.Store(tls.Provider.Handler())
				tls.URL = ts.URL
				fx = &tls
				next = ts.Client().Transport
			} else {
				fx = start(t)
			}
			b := newBrowser(t, fx)
			rec := &cookieRecorder{next: next}
			b.c.Transport = rec
			loginCode(t, b, "portal", url.Values{"code_challenge": nil}, alicePassword)
			var ssoValue string
			for _, c := range rec.cookies {
				want := map[string]string{tc.sso: "/", tc.browser: tc.browserPath}
				path, ok := want[c.Name]
				if !ok {
					t.Errorf("cookie %q set, want only %s and %s", c.Name, tc.sso, tc.browser)
					continue
				}
				if c.Path != path || c.Domain != "" || c.Secure != tc.secure || !c.HttpOnly {
					t.Errorf("cookie %s: Path=%q Domain=%q Secure=%v HttpOnly=%v, want Path=%q, no Domain, Secure=%v, HttpOnly",
						c.Name, c.Path, c.Domain, c.Secure, c.HttpOnly, path, tc.secure)
				}
				if c.Name == tc.sso {
					ssoValue = c.Value
				}
			}
			if ssoValue == "" {
				t.Fatalf("no %s cookie was set", tc.sso)
			}
			if !ssoAlive(t, b) {
				t.Fatalf("the %s cookie is not read back", tc.sso)
			}
			// The same session under the name not in force is no session.
			planted := newBrowser(t, fx)
			planted.c.Transport = next
			u, _ := url.Parse(fx.URL)
			planted.c.Jar.SetCookies(u, []*http.Cookie{{Name: tc.other, Value: ssoValue, Path: "/"}})
			if ssoAlive(t, planted) {
				t.Fatalf("a cookie named %s was taken for the session", tc.other)
			}
		})
	}
}
