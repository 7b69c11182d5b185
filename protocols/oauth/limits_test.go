package oauth_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/engine/metrics/metricstest"
	"github.com/authd/authd/engine/ratelimit"
	"github.com/authd/authd/protocols/oauth"
	"github.com/authd/authd/protocols/oauth/internal/oauthtest"
)

// TestUserLimit: answers carrying a password count against the per-user
// limit on the login pages and in the password grant alike (one limiter,
// keyed by realm and user, as the journey API's); over it, 429 with
// Retry-After, and another user is not affected.
func TestUserLimit(t *testing.T) {
	lim := ratelimit.New(ratelimit.Rate{Events: 2, Per: time.Hour})
	fx := start(t, func(c *oauth.Config) { c.UserLimit = lim })
	pw := func(user, password string) *tokenResp {
		return tokenReq(t, fx, "cli", oauthtest.CLISecret, url.Values{"grant_type": {"password"}, "username": {user}, "password": {password}, "scope": {"openid"}})
	}
	// Spellings the credentials node reads as alice count as alice.
	pw(" "+oauthtest.Alice, "wrong").fails(t, http.StatusBadRequest, "invalid_grant")

	// The second attempt, on a login page.
	b := newBrowser(t, fx)
	page := b.get(startLogin(t, b, "portal", url.Values{"code_challenge": nil}))
	r := b.submit(page, map[string]string{"cb_username": oauthtest.Alice + "\u00a0", "cb_password": "also-wrong"})
	if u, _ := url.Parse(r.location); u == nil || u.Query().Get("error") != "access_denied" {
		t.Fatalf("a wrong password on the page: %d %q", r.status, r.location)
	}

	// The third, even with the right password, is refused on both.
	page = b.get(startLogin(t, b, "portal", url.Values{"code_challenge": nil}))
	r = b.submit(page, map[string]string{"cb_username": oauthtest.Alice, "cb_password": oauthtest.AlicePassword})
	mustEqual(t, "login page status", r.status, http.StatusTooManyRequests)
	if r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "Too many attempts") {
		t.Errorf("the page says neither when nor why: %q\n%s", r.header.Get("Retry-After"), r.body)
	}
	limited := pw(oauthtest.Alice, oauthtest.AlicePassword)
	mustEqual(t, "token status", limited.Status, http.StatusTooManyRequests)
	mustEqual(t, "token error", limited.Error, "temporarily_unavailable")

	pw(oauthtest.Bob, oauthtest.BobPassword).ok(t)
	// Client credentials carry no user password: never limited.
	tokenReq(t, fx, "service", oauthtest.ServiceSecret, url.Values{"grant_type": {"client_credentials"}}).ok(t)
}

// requestCount reads authd_requests_total{frontend="oauth",result}.
func requestCount(t *testing.T, result string) float64 {
	t.Helper()
	return metricstest.Value(t, "authd_requests_total", map[string]string{"frontend": "oauth", "result": result})
}

// TestRequestMetrics: the token, authorization and introspection
// endpoints count their answers by result.
func TestRequestMetrics(t *testing.T) {
	fx := start(t)
	ok0, fail0 := requestCount(t, "success"), requestCount(t, "failure")
	tok := tokenReq(t, fx, "service", oauthtest.ServiceSecret, url.Values{"grant_type": {"client_credentials"}}).ok(t)
	introspect(t, fx, "service", oauthtest.ServiceSecret, tok.AccessToken)
	tokenReq(t, fx, "service", "wrong", url.Values{"grant_type": {"client_credentials"}}).fails(t, http.StatusUnauthorized, "invalid_client")
	b := newBrowser(t, fx)
	b.get(authorizeURL(fx, "portal", url.Values{"prompt": {"none"}})) // login_required: an error redirect
	if got := requestCount(t, "success") - ok0; got < 2 {
		t.Errorf("%v successes counted, want at least 2 (a grant, an introspection)", got)
	}
	if got := requestCount(t, "failure") - fail0; got < 2 {
		t.Errorf("%v failures counted, want at least 2 (a wrong secret, login_required)", got)
	}
}
