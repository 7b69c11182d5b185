package oauth_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/authd/authd/protocols/oauth/internal/oauthtest"
)

var aliceMFA = answers{
	{"username": oauthtest.Alice, "password": oauthtest.AlicePassword},
	{"choice": "code"},
	{"code": oauthtest.GoodCode},
}

func TestAuthorizationCodeFlow(t *testing.T) {
	fx := start(t)
	b := newBrowser(t, fx)
	verifier, challenge := pkcePair()
	u := b.login(authorizeURL(fx, "web", url.Values{
		"scope":                 {"openid profile email groups offline_access"},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
	}), aliceMFA)
	code := codeFrom(t, fx, u)
	tok := tokenReq(t, fx, "web", oauthtest.WebSecret, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {fx.Callback}, "code_verifier": {verifier},
	}).ok(t)
	if tok.RefreshToken == "" || tok.IDToken == "" {
		t.Fatalf("want refresh and ID tokens: %+v", tok)
	}
	idc := claimsOf(t, tok.IDToken)
	mustEqual(t, "sub", idc["sub"], any(oauthtest.Alice))
	mustEqual(t, "acr", idc["acr"], any("mfa"))
	mustEqual(t, "nonce", idc["nonce"], any("nonce-0123456789"))
	mustEqual(t, "iss", idc["iss"], any(fx.URL))
	if idc["auth_time"] == nil || idc["at_hash"] == nil {
		t.Errorf("auth_time and at_hash missing: %v", idc)
	}
	st, info := jsonReq(t, http.MethodGet, fx.URL+"/oauth2/userinfo", "", "", nil, map[string]string{"Authorization": "Bearer " + tok.AccessToken})
	mustEqual(t, "userinfo status", st, http.StatusOK)
	mustEqual(t, "email", info["email"], any("alice@example.com"))
	mustEqual(t, "department", info["department"], any("engineering"))
	if gs, _ := info["groups"].([]any); len(gs) != 2 {
		t.Errorf("groups = %v", info["groups"])
	}
	t.Logf("userinfo %v", info)
}
