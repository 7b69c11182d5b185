package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/authd/authd/engine/users"
	"github.com/authd/authd/protocols/oauth/internal/oauthtest"
)

// promptNone asks for a code for portal with the browser's SSO session
// only, and returns the error of the redirect ("" for a code).
func promptNone(t *testing.T, fx *oauthtest.Fixture, b *browser) string {
	t.Helper()
	r := b.get(authorizeURL(fx, "portal", url.Values{"prompt": {"none"}}))
	u, err := url.Parse(r.location)
	if err != nil {
		t.Fatal(err)
	}
	if u.Query().Get("code") == "" && u.Query().Get("error") == "" {
		t.Fatalf("prompt=none: no code and no error in %q", r.location)
	}
	return u.Query().Get("error")
}

// bobSignsIn starts a fixture where bob signs in to spa in a browser,
// which keeps the SSO session, and returns the grant's tokens.
func bobSignsIn(t *testing.T) (*oauthtest.Fixture, *browser, *tokenResp) {
	t.Helper()
	fx := start(t)
	b := newBrowser(t, fx)
	code, v := loginCode(t, b, "spa", nil, bobPassword)
	return fx, b, exchange(t, fx, "spa", "", code, v).ok(t)
}

// A password change (authd user passwd, the admin API: SetPassword) ends
// the grants and SSO sessions signed in before it, as a user who changes a
// leaked password expects; a sign-in with the new password starts afresh.
func TestPasswordChangeEndsGrants(t *testing.T) {
	fx, b, tok := bobSignsIn(t)
	tok = refresh(t, fx, "spa", "", tok.RefreshToken).ok(t)
	mustEqual(t, "prompt=none before the change", promptNone(t, fx, b), "")

	// auth_time has whole seconds: change the password in a later second
	// than the sign-in, as any real change is.
	waitPast(authTimeOf(t, tok.IDToken).Add(time.Second))
	if err := fx.Users.SetPassword("corp", oauthtest.Bob, "new-bob-password-2", time.Now()); err != nil {
		t.Fatal(err)
	}

	mustEqual(t, "userinfo of a token from before the change", userinfoStatus(t, fx, tok.AccessToken), http.StatusUnauthorized)
	r := refresh(t, fx, "spa", "", tok.RefreshToken).fails(t, http.StatusBadRequest, "invalid_grant")
	t.Logf("refused: %s", r.Description)
	// The SSO cookie no longer signs in silently...
	mustEqual(t, "prompt=none after the change", promptNone(t, fx, b), "login_required")

	// ...and a sign-in with the new password starts a grant that lives.
	code, v := loginCode(t, b, "spa", nil, answers{{"username": oauthtest.Bob, "password": "new-bob-password-2"}})
	fresh := exchange(t, fx, "spa", "", code, v).ok(t)
	fresh = refresh(t, fx, "spa", "", fresh.RefreshToken).ok(t)
	mustEqual(t, "userinfo of the new grant", userinfoStatus(t, fx, fresh.AccessToken), http.StatusOK)
	mustEqual(t, "prompt=none after signing in again", promptNone(t, fx, b), "")
	// The refused grant stays revoked.
	refresh(t, fx, "spa", "", tok.RefreshToken).fails(t, http.StatusBadRequest, "invalid_grant")
}

// Users stored before the time of the last password change was recorded
// have none: an upgrade ends no grant. Nor does a failed login, which
// moves Updated but is no password change.
func TestNoPasswordChangeKeepsGrants(t *testing.T) {
	fx, b, tok := bobSignsIn(t)
	waitPast(authTimeOf(t, tok.IDToken).Add(time.Second))

	// A record as an earlier build stored it: no PasswordChanged, and an
	// Updated after the sign-in.
	if err := fx.Users.Update("corp", oauthtest.Bob, func(u *users.User) error {
		u.PasswordChanged = time.Time{}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.Users.CheckPassword("corp", oauthtest.Bob, "not-bobs-password", nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	tok = refresh(t, fx, "spa", "", tok.RefreshToken).ok(t)
	mustEqual(t, "userinfo", userinfoStatus(t, fx, tok.AccessToken), http.StatusOK)
	mustEqual(t, "prompt=none", promptNone(t, fx, b), "")
	if _, ok := fx.Provider.IntrospectAccessToken(context.Background(), tok.AccessToken); !ok {
		t.Error("introspection: the token is not active")
	}
}
