package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/authd/authd/engine/users"
	"github.com/authd/authd/protocols/oauth/internal/oauthtest"
)

var bobPassword = answers{{"username": oauthtest.Bob, "password": oauthtest.BobPassword}}

// recreateBob deletes bob and creates a new bob, as `authd user delete`
// then `authd user add` would, with a password of his own.
func recreateBob(t *testing.T, fx *oauthtest.Fixture) {
	t.Helper()
	if err := fx.Users.Delete("corp", oauthtest.Bob); err != nil {
		t.Fatal(err)
	}
	h, err := bcrypt.GenerateFromPassword([]byte("new-bob-password-1"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := fx.Users.Create(&users.User{Realm: "corp", Name: oauthtest.Bob, PasswordHash: string(h)}); err != nil {
		t.Fatal(err)
	}
}

// authTimeOf is the auth_time of an ID token.
func authTimeOf(t *testing.T, idToken string) time.Time {
	t.Helper()
	at, ok := claimsOf(t, idToken)["auth_time"].(float64)
	if !ok {
		t.Fatalf("no auth_time in %v", claimsOf(t, idToken))
	}
	return time.Unix(int64(at), 0)
}

// The review's case: bob signs in, is deleted, and his refresh token must
// not mint new tokens with sub bob.
func TestRefreshRefusedAfterUserDeleted(t *testing.T) {
	fx := start(t)
	b := newBrowser(t, fx)
	code, v := loginCode(t, b, "spa", nil, bobPassword)
	tok := exchange(t, fx, "spa", "", code, v).ok(t)
	// The refresh works while bob exists...
	tok = refresh(t, fx, "spa", "", tok.RefreshToken).ok(t)
	if err := fx.Users.Delete("corp", oauthtest.Bob); err != nil {
		t.Fatal(err)
	}
	// ...and not once he is gone.
	refresh(t, fx, "spa", "", tok.RefreshToken).fails(t, http.StatusBadRequest, "invalid_grant")
	mustEqual(t, "userinfo after delete", userinfoStatus(t, fx, tok.AccessToken), http.StatusUnauthorized)
	if _, ok := fx.Provider.IntrospectAccessToken(context.Background(), tok.AccessToken); ok {
		t.Error("in-process introspection: a deleted user's access token is active")
	}
}

// A user created again under the same name is another user: the old
// grant, the old access token and the browser's SSO session are not his.
func TestGrantsOfReplacedUserRefused(t *testing.T) {
	fx := start(t)
	b := newBrowser(t, fx)
	code, v := loginCode(t, b, "spa", nil, bobPassword)
	old := exchange(t, fx, "spa", "", code, v).ok(t)
	// auth_time has whole seconds: re-create bob in a later second than
	// the sign-in, as any real re-creation is.
	waitPast(authTimeOf(t, old.IDToken).Add(time.Second))
	recreateBob(t, fx)

	// userinfo first: the refused refresh revokes the access token too.
	mustEqual(t, "userinfo of the old bob's token", userinfoStatus(t, fx, old.AccessToken), http.StatusUnauthorized)
	refresh(t, fx, "spa", "", old.RefreshToken).fails(t, http.StatusBadRequest, "invalid_grant")
	// The browser's SSO session was the old bob's: no code without a login.
	r := b.get(authorizeURL(fx, "portal", url.Values{"prompt": {"none"}}))
	u, _ := url.Parse(r.location)
	mustEqual(t, "prompt=none for the old bob's SSO session", u.Query().Get("error"), "login_required")

	// The new bob signs in and his own grant works.
	code, v = loginCode(t, b, "spa", nil, answers{{"username": oauthtest.Bob, "password": "new-bob-password-1"}})
	fresh := exchange(t, fx, "spa", "", code, v).ok(t)
	fresh = refresh(t, fx, "spa", "", fresh.RefreshToken).ok(t)
	mustEqual(t, "userinfo of the new bob's token", userinfoStatus(t, fx, fresh.AccessToken), http.StatusOK)
}

// A code whose user is deleted before the exchange gets no tokens.
func TestCodeRefusedAfterUserDeleted(t *testing.T) {
	fx := start(t)
	code, v := loginCode(t, newBrowser(t, fx), "spa", nil, bobPassword)
	if err := fx.Users.Delete("corp", oauthtest.Bob); err != nil {
		t.Fatal(err)
	}
	exchange(t, fx, "spa", "", code, v).fails(t, http.StatusBadRequest, "invalid_grant")
}

// A locked account's refresh is refused, but its grant is not revoked:
// anyone can lock an account by failing its password, and must not end its
// user's sign-ins that way. After the unlock the refresh token works again.
func TestRefreshRefusedWhileLocked(t *testing.T) {
	fx := start(t)
	code, v := loginCode(t, newBrowser(t, fx), "spa", nil, bobPassword)
	tok := exchange(t, fx, "spa", "", code, v).ok(t)
	if err := fx.Users.Update("corp", oauthtest.Bob, func(u *users.User) error {
		u.LockedUntil = time.Now().Add(time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A lock alone does not end a live access token (see grantUser).
	mustEqual(t, "userinfo while locked", userinfoStatus(t, fx, tok.AccessToken), http.StatusOK)
	r := refresh(t, fx, "spa", "", tok.RefreshToken).fails(t, http.StatusBadRequest, "invalid_grant")
	t.Logf("refused: %s", r.Description)
	if err := fx.Users.Unlock("corp", oauthtest.Bob); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "userinfo after the unlock", userinfoStatus(t, fx, tok.AccessToken), http.StatusOK)
	refresh(t, fx, "spa", "", tok.RefreshToken).ok(t)
}

// The password grant runs the journey, which does not know a deleted
// user; its refresh tokens are checked as the code flow's are.
func TestPasswordGrantAfterUserDeleted(t *testing.T) {
	fx := start(t)
	pw := url.Values{"grant_type": {"password"}, "username": {oauthtest.Bob}, "password": {oauthtest.BobPassword}, "scope": {"openid"}}
	tok := tokenReq(t, fx, "cli", oauthtest.CLISecret, pw).ok(t)
	if tok.RefreshToken == "" {
		t.Fatal("the cli client has the refresh grant: want a refresh token")
	}
	if err := fx.Users.Delete("corp", oauthtest.Bob); err != nil {
		t.Fatal(err)
	}
	tokenReq(t, fx, "cli", oauthtest.CLISecret, pw).fails(t, http.StatusBadRequest, "invalid_grant")
	refresh(t, fx, "cli", oauthtest.CLISecret, tok.RefreshToken).fails(t, http.StatusBadRequest, "invalid_grant")
}

// Introspection answers as userinfo does: a deleted user's access and
// refresh tokens are not active.
func TestIntrospectionOfDeletedUsersTokens(t *testing.T) {
	fx := start(t)
	code, v := loginCode(t, newBrowser(t, fx), "web", url.Values{"scope": {"openid offline_access"}},
		answers{bobPassword[0], {"choice": "code"}, {"code": oauthtest.GoodCode}})
	tok := exchange(t, fx, "web", oauthtest.WebSecret, code, v).ok(t)
	for _, tk := range []string{tok.AccessToken, tok.RefreshToken} {
		mustEqual(t, "active before the delete", introspect(t, fx, "web", oauthtest.WebSecret, tk)["active"], any(true))
	}
	if err := fx.Users.Delete("corp", oauthtest.Bob); err != nil {
		t.Fatal(err)
	}
	for _, tk := range []string{tok.AccessToken, tok.RefreshToken} {
		mustEqual(t, "active after the delete", introspect(t, fx, "web", oauthtest.WebSecret, tk)["active"], any(false))
	}
}
