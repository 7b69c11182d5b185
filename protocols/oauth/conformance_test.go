package oauth_test

// Negative paths of the provider, named after the OpenID Foundation
// conformance tests they mirror (oidcc-*), plus the OAuth 2.0 rules the
// issue names (PKCE, refresh rotation, introspection, revocation,
// password grant).

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/authd/authd/protocols/oauth"
	"github.com/authd/authd/protocols/oauth/internal/oauthtest"
)

var alicePassword = answers{{"username": oauthtest.Alice, "password": oauthtest.AlicePassword}}

// loginCode logs alice in at client and returns the code (and the PKCE
// verifier used, when the client is public).
func loginCode(t *testing.T, b *browser, client string, extra url.Values, steps answers) (code, verifier string) {
	t.Helper()
	if extra == nil {
		extra = url.Values{}
	}
	if _, has := extra["code_challenge"]; !has {
		v, c := pkcePair()
		verifier = v
		extra.Set("code_challenge", c)
		extra.Set("code_challenge_method", "S256")
	}
	u := b.login(authorizeURL(b.fx, client, extra), steps)
	return codeFrom(t, b.fx, u), verifier
}

func exchange(t *testing.T, fx *oauthtest.Fixture, client, secret, code, verifier string) *tokenResp {
	t.Helper()
	f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {fx.Callback}}
	if verifier != "" {
		f.Set("code_verifier", verifier)
	}
	return tokenReq(t, fx, client, secret, f)
}

func refresh(t *testing.T, fx *oauthtest.Fixture, client, secret, rt string) *tokenResp {
	t.Helper()
	return tokenReq(t, fx, client, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
}

func userinfoStatus(t *testing.T, fx *oauthtest.Fixture, at string) int {
	t.Helper()
	st, _ := jsonReq(t, http.MethodGet, fx.URL+"/oauth2/userinfo", "", "", nil, map[string]string{"Authorization": "Bearer " + at})
	return st
}

func introspect(t *testing.T, fx *oauthtest.Fixture, id, secret, token string) map[string]any {
	t.Helper()
	st, out := jsonReq(t, http.MethodPost, fx.URL+"/oauth2/introspect", id, secret, url.Values{"token": {token}}, nil)
	if st != http.StatusOK {
		t.Fatalf("introspect: %d %v", st, out)
	}
	return out
}

// verifyJWT checks a JWT's signature against the published JWKS and
// returns its claims.
func verifyJWT(t *testing.T, fx *oauthtest.Fixture, tok string) map[string]any {
	t.Helper()
	resp, err := http.Get(fx.URL + "/oauth2/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSigned(tok)
	if err != nil {
		t.Fatal(err)
	}
	kid := jws.Signatures[0].Header.KeyID
	keys := set.Key(kid)
	if len(keys) != 1 {
		t.Fatalf("kid %q is not in the JWKS", kid)
	}
	payload, err := jws.Verify(keys[0].Key)
	if err != nil {
		t.Fatalf("signature: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDiscoveryAndJWKS(t *testing.T) {
	fx := start(t)
	st, doc := jsonReq(t, http.MethodGet, fx.URL+"/.well-known/openid-configuration", "", "", nil, nil)
	mustEqual(t, "status", st, http.StatusOK)
	mustEqual(t, "issuer", doc["issuer"], any(fx.URL))
	for _, k := range []string{"authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "introspection_endpoint", "revocation_endpoint", "end_session_endpoint"} {
		if s, _ := doc[k].(string); !strings.HasPrefix(s, fx.URL+"/") {
			t.Errorf("%s = %v", k, doc[k])
		}
	}
	if m, _ := doc["code_challenge_methods_supported"].([]any); len(m) != 1 || m[0] != "S256" {
		t.Errorf("code_challenge_methods_supported = %v", m)
	}
	st, jwks := jsonReq(t, http.MethodGet, fx.URL+"/oauth2/jwks", "", "", nil, nil)
	mustEqual(t, "jwks status", st, http.StatusOK)
	algs := map[string]bool{}
	for _, k := range jwks["keys"].([]any) {
		km := k.(map[string]any)
		algs[km["alg"].(string)] = true
		if km["d"] != nil || km["p"] != nil {
			t.Fatal("the JWKS publishes private key material")
		}
	}
	if !algs["RS256"] || !algs["ES256"] {
		t.Errorf("JWKS algorithms %v, want RS256 and ES256", algs)
	}
}

func TestConformance(t *testing.T) {
	fx := start(t, func(c *oauth.Config) { c.RefreshGrace = 300 * time.Millisecond })

	t.Run("oidcc-server", func(t *testing.T) {
		b := newBrowser(t, fx)
		code, v := loginCode(t, b, "spa", nil, alicePassword)
		tok := exchange(t, fx, "spa", "", code, v).ok(t)
		idc := verifyJWT(t, fx, tok.IDToken)
		mustEqual(t, "aud", idc["aud"].([]any)[0], any("spa"))
		mustEqual(t, "acr", idc["acr"], any("password"))
		// The SPA's access token is an RFC 9068 JWT, signed ES256.
		atc := verifyJWT(t, fx, tok.AccessToken)
		mustEqual(t, "at client_id", atc["client_id"], any("spa"))
		mustEqual(t, "at sub", atc["sub"], any(oauthtest.Alice))
		mustEqual(t, "userinfo", userinfoStatus(t, fx, tok.AccessToken), http.StatusOK)
	})

	t.Run("oidcc-ensure-request-without-nonce-succeeds-for-code-flow", func(t *testing.T) {
		b := newBrowser(t, fx)
		code, v := loginCode(t, b, "spa", url.Values{"nonce": {""}}, alicePassword)
		tok := exchange(t, fx, "spa", "", code, v).ok(t)
		if _, ok := claimsOf(t, tok.IDToken)["nonce"]; ok {
			t.Error("nonce in the ID token without one in the request")
		}
	})

	t.Run("oidcc-client-secret-wrong", func(t *testing.T) {
		b := newBrowser(t, fx)
		code, _ := loginCode(t, b, "portal", url.Values{"code_challenge": nil}, alicePassword)
		tokenReq(t, fx, "portal", "wrong-secret", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {fx.Callback}}).
			fails(t, http.StatusUnauthorized, "invalid_client")
		tokenReq(t, fx, "nobody", "x", url.Values{"grant_type": {"client_credentials"}}).fails(t, http.StatusUnauthorized, "invalid_client")
		// client_secret_post works as well as basic.
		tokenReq(t, fx, "", "", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {fx.Callback},
			"client_id": {"portal"}, "client_secret": {oauthtest.WebSecret}}).ok(t)
	})

	t.Run("pkce-wrong-verifier", func(t *testing.T) {
		b := newBrowser(t, fx)
		code, v := loginCode(t, b, "spa", nil, alicePassword)
		other, _ := pkcePair()
		exchange(t, fx, "spa", "", code, other).fails(t, http.StatusBadRequest, "invalid_grant")
		// A second try without any verifier must not slip through.
		exchange(t, fx, "spa", "", code, "").fails(t, http.StatusBadRequest, "invalid_grant")
		exchange(t, fx, "spa", "", code, v).ok(t)
	})

	t.Run("pkce-plain-refused", func(t *testing.T) {
		b := newBrowser(t, fx)
		r := b.get(authorizeURL(fx, "spa", url.Values{"code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"plain"}}))
		u, _ := url.Parse(r.location)
		mustEqual(t, "error", u.Query().Get("error"), "invalid_request")
		r = b.get(authorizeURL(fx, "spa", url.Values{"code_challenge": {strings.Repeat("a", 43)}}))
		u, _ = url.Parse(r.location)
		mustEqual(t, "error without method", u.Query().Get("error"), "invalid_request")
	})

	t.Run("pkce-required-for-public-client", func(t *testing.T) {
		b := newBrowser(t, fx)
		r := b.get(authorizeURL(fx, "spa", nil))
		u, _ := url.Parse(r.location)
		mustEqual(t, "error", u.Query().Get("error"), "invalid_request")
		if !strings.Contains(u.Query().Get("error_description"), "PKCE") {
			t.Errorf("description %q does not say why", u.Query().Get("error_description"))
		}
	})

	t.Run("oidcc-codereuse-30seconds", func(t *testing.T) {
		b := newBrowser(t, fx)
		code, v := loginCode(t, b, "web", url.Values{"scope": {"openid offline_access"}}, aliceMFA)
		tok := exchange(t, fx, "web", oauthtest.WebSecret, code, v).ok(t)
		mustEqual(t, "userinfo before reuse", userinfoStatus(t, fx, tok.AccessToken), http.StatusOK)
		exchange(t, fx, "web", oauthtest.WebSecret, code, v).fails(t, http.StatusBadRequest, "invalid_grant")
		// Reuse revokes what the code granted.
		mustEqual(t, "userinfo after reuse", userinfoStatus(t, fx, tok.AccessToken), http.StatusUnauthorized)
		refresh(t, fx, "web", oauthtest.WebSecret, tok.RefreshToken).fails(t, http.StatusBadRequest, "invalid_grant")
	})

	t.Run("oidcc-codereuse-parallel", func(t *testing.T) {
		b := newBrowser(t, fx)
		code, v := loginCode(t, b, "web", nil, aliceMFA)
		var wg sync.WaitGroup
		results := make([]*tokenResp, 10)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = exchange(t, fx, "web", oauthtest.WebSecret, code, v)
			}()
		}
		wg.Wait()
		ok := 0
		for _, r := range results {
			switch {
			case r.Status == http.StatusOK:
				ok++
			case r.Error != "invalid_grant":
				t.Errorf("a losing exchange got %d %s: %s", r.Status, r.Error, r.Description)
			}
		}
		mustEqual(t, "successful exchanges of one code", ok, 1)
	})

	t.Run("oidcc-ensure-registered-redirect-uri", func(t *testing.T) {
		b := newBrowser(t, fx)
		u0, _ := url.Parse(fx.Callback)
		otherPort := "http://127.0.0.1:1" + u0.Path // fosite's RFC 8252 loopback rule would accept it
		for _, bad := range []string{"https://evil.example/cb", fx.Callback + "/x", fx.Callback + "?x=1", strings.Replace(fx.Callback, "127.0.0.1", "localhost", 1), otherPort} {
			r := b.get(authorizeURL(fx, "web", url.Values{"redirect_uri": {bad}}))
			if r.location != "" || r.status != http.StatusBadRequest {
				t.Errorf("redirect_uri %s: status %d, Location %q; want a 400 page and no redirect", bad, r.status, r.location)
			}
		}
		// Unknown client: a page, no redirect either.
		r := b.get(authorizeURL(fx, "nobody", nil))
		if r.location != "" || r.status != http.StatusBadRequest {
			t.Errorf("unknown client: %d %q", r.status, r.location)
		}
	})

	t.Run("oidcc-codereuse-mismatched-redirect", func(t *testing.T) {
		b := newBrowser(t, fx)
		code, _ := loginCode(t, b, "web", nil, aliceMFA)
		tokenReq(t, fx, "web", oauthtest.WebSecret, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {fx.URL + "/other"}}).
			fails(t, http.StatusBadRequest, "invalid_grant")
	})

	t.Run("oidcc-scope-not-allowed", func(t *testing.T) {
		b := newBrowser(t, fx)
		r := b.get(authorizeURL(fx, "spa", url.Values{"scope": {"openid admin"}, "code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}}))
		u, _ := url.Parse(r.location)
		mustEqual(t, "error", u.Query().Get("error"), "invalid_scope")
		tokenReq(t, fx, "service", oauthtest.ServiceSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"orders:delete"}}).
			fails(t, http.StatusBadRequest, "invalid_scope")
	})

	t.Run("oidcc-scope-profile-email-groups", func(t *testing.T) {
		cases := []struct {
			scope      string
			want, deny []string
		}{
			{"openid", nil, []string{"email", "preferred_username", "groups", "department", "name"}},
			{"openid email", []string{"email"}, []string{"preferred_username", "groups", "department"}},
			{"openid profile", []string{"preferred_username", "name", "department"}, []string{"email", "groups"}},
			{"openid groups", []string{"groups"}, []string{"email", "preferred_username", "department"}},
		}
		for _, tc := range cases {
			t.Run(tc.scope, func(t *testing.T) {
				b := newBrowser(t, fx)
				code, v := loginCode(t, b, "web", url.Values{"scope": {tc.scope}}, aliceMFA)
				tok := exchange(t, fx, "web", oauthtest.WebSecret, code, v).ok(t)
				_, info := jsonReq(t, http.MethodGet, fx.URL+"/oauth2/userinfo", "", "", nil, map[string]string{"Authorization": "Bearer " + tok.AccessToken})
				idc := claimsOf(t, tok.IDToken)
				for _, c := range tc.want {
					if info[c] == nil || idc[c] == nil {
						t.Errorf("%s missing (userinfo %v, id token %v)", c, info[c], idc[c])
					}
				}
				for _, c := range tc.deny {
					if info[c] != nil || idc[c] != nil {
						t.Errorf("%s issued without its scope", c)
					}
				}
				mustEqual(t, "sub", info["sub"], any(oauthtest.Alice))
			})
		}
	})

	t.Run("oidcc-response-type-missing", func(t *testing.T) {
		b := newBrowser(t, fx)
		r := b.get(authorizeURL(fx, "web", url.Values{"response_type": {""}}))
		u, err := url.Parse(r.location)
		if err != nil || r.status != http.StatusSeeOther {
			t.Fatalf("status %d location %q", r.status, r.location)
		}
		if e := u.Query().Get("error"); e != "unsupported_response_type" && e != "invalid_request" {
			t.Errorf("error %q", e)
		}
		mustEqual(t, "state", u.Query().Get("state"), "state-0123456789")
	})

	t.Run("oidcc-response-type-token-refused", func(t *testing.T) {
		b := newBrowser(t, fx)
		r := b.get(authorizeURL(fx, "web", url.Values{"response_type": {"token"}}))
		u, _ := url.Parse(r.location)
		if u == nil || u.Query().Get("error") == "" && !strings.Contains(u.Fragment, "error") {
			t.Fatalf("implicit flow not refused: %d %q", r.status, r.location)
		}
	})

	t.Run("oidcc-prompt-none-not-logged-in", func(t *testing.T) {
		b := newBrowser(t, fx)
		r := b.get(authorizeURL(fx, "portal", url.Values{"prompt": {"none"}}))
		u, _ := url.Parse(r.location)
		mustEqual(t, "error", u.Query().Get("error"), "login_required")
	})

	t.Run("oidcc-prompt-none-logged-in", func(t *testing.T) {
		b := newBrowser(t, fx)
		code, _ := loginCode(t, b, "portal", url.Values{"code_challenge": nil}, alicePassword)
		first := exchange(t, fx, "portal", oauthtest.WebSecret, code, "").ok(t)
		// Same browser, another relying party with the same journey: SSO.
		code2, v := loginCode(t, b, "spa", url.Values{"prompt": {"none"}}, nil)
		second := exchange(t, fx, "spa", "", code2, v).ok(t)
		mustEqual(t, "auth_time kept", claimsOf(t, second.IDToken)["auth_time"], claimsOf(t, first.IDToken)["auth_time"])
		// A relying party with a stronger journey is not satisfied by it.
		r := b.get(authorizeURL(fx, "web", url.Values{"prompt": {"none"}}))
		ru, _ := url.Parse(r.location)
		mustEqual(t, "web with prompt=none", ru.Query().Get("error"), "login_required")
	})

	t.Run("oidcc-id-token-hint", func(t *testing.T) {
		alice, bob := newBrowser(t, fx), newBrowser(t, fx)
		code, _ := loginCode(t, alice, "portal", url.Values{"code_challenge": nil}, alicePassword)
		at := exchange(t, fx, "portal", oauthtest.WebSecret, code, "").ok(t)
		code, _ = loginCode(t, bob, "portal", url.Values{"code_challenge": nil}, answers{{"username": oauthtest.Bob, "password": oauthtest.BobPassword}})
		bt := exchange(t, fx, "portal", oauthtest.WebSecret, code, "").ok(t)
		code, _ = loginCode(t, alice, "portal", url.Values{"code_challenge": nil, "prompt": {"none"}, "id_token_hint": {at.IDToken}}, nil)
		exchange(t, fx, "portal", oauthtest.WebSecret, code, "").ok(t)
		r := alice.get(authorizeURL(fx, "portal", url.Values{"prompt": {"none"}, "id_token_hint": {bt.IDToken}}))
		u, _ := url.Parse(r.location)
		mustEqual(t, "hint for another user", u.Query().Get("error"), "login_required")
	})

	t.Run("oidcc-prompt-login", func(t *testing.T) {
		b := newBrowser(t, fx)
		code, _ := loginCode(t, b, "portal", url.Values{"code_challenge": nil}, alicePassword)
		first := exchange(t, fx, "portal", oauthtest.WebSecret, code, "").ok(t)
		// Without prompt=login the SSO session skips the journey...
		if r := b.get(authorizeURL(fx, "portal", nil)); strings.HasPrefix(r.location, "/oauth2/login") {
			t.Fatalf("no SSO without prompt=login: %q", r.location)
		}
		// ...prompt=login must show the login page despite it.
		if r := b.get(authorizeURL(fx, "portal", url.Values{"prompt": {"login"}})); !strings.HasPrefix(r.location, "/oauth2/login") {
			t.Fatalf("prompt=login skipped the login: %d %q", r.status, r.location)
		}
		code, _ = loginCode(t, b, "portal", url.Values{"code_challenge": nil, "prompt": {"login"}}, alicePassword)
		second := exchange(t, fx, "portal", oauthtest.WebSecret, code, "").ok(t)
		// auth_time is in seconds: the new login's is not earlier (it is the
		// journey's end, not the SSO session's).
		a1, a2 := claimsOf(t, first.IDToken)["auth_time"].(float64), claimsOf(t, second.IDToken)["auth_time"].(float64)
		if a2 < a1 {
			t.Errorf("auth_time %v after prompt=login, want not before %v", a2, a1)
		}
	})

	t.Run("oidcc-max-age-1", func(t *testing.T) {
		b := newBrowser(t, fx)
		code, _ := loginCode(t, b, "portal", url.Values{"code_challenge": nil}, alicePassword)
		exchange(t, fx, "portal", oauthtest.WebSecret, code, "").ok(t)
		// Once the login is more than max_age old, authorize asks for a
		// new one: poll for that with a deadline (the SSO codes issued
		// meanwhile are simply not used).
		deadline := time.Now().Add(30 * time.Second)
		for {
			r := b.get(authorizeURL(fx, "portal", url.Values{"max_age": {"1"}}))
			if strings.HasPrefix(r.location, "/oauth2/login") {
				break
			}
			if u, _ := url.Parse(r.location); u == nil || u.Query().Get("code") == "" {
				t.Fatalf("max_age=1 within the second: %d %q, want a code from the SSO session", r.status, r.location)
			}
			if time.Now().After(deadline) {
				t.Fatal("max_age=1 never asked for a new login")
			}
			time.Sleep(100 * time.Millisecond)
		}
		r := b.get(authorizeURL(fx, "portal", url.Values{"max_age": {"1"}, "prompt": {"none"}}))
		u, _ := url.Parse(r.location)
		mustEqual(t, "max_age with prompt=none", u.Query().Get("error"), "login_required")
	})

	t.Run("oidcc-userinfo-get-post-header-post-body", func(t *testing.T) {
		b := newBrowser(t, fx)
		code, v := loginCode(t, b, "spa", nil, alicePassword)
		tok := exchange(t, fx, "spa", "", code, v).ok(t)
		st, _ := jsonReq(t, http.MethodPost, fx.URL+"/oauth2/userinfo", "", "", url.Values{}, map[string]string{"Authorization": "Bearer " + tok.AccessToken})
		mustEqual(t, "post header", st, http.StatusOK)
		st, info := jsonReq(t, http.MethodPost, fx.URL+"/oauth2/userinfo", "", "", url.Values{"access_token": {tok.AccessToken}}, nil)
		mustEqual(t, "oidcc-userinfo-post-body", st, http.StatusOK)
		mustEqual(t, "sub", info["sub"], any(oauthtest.Alice))
		st, _ = jsonReq(t, http.MethodGet, fx.URL+"/oauth2/userinfo?access_token="+url.QueryEscape(tok.AccessToken), "", "", nil, nil)
		mustEqual(t, "token in the query is refused", st, http.StatusUnauthorized)
		st, _ = jsonReq(t, http.MethodGet, fx.URL+"/oauth2/userinfo", "", "", nil, map[string]string{"Authorization": "Bearer garbage"})
		mustEqual(t, "bad token", st, http.StatusUnauthorized)
	})

	t.Run("oidcc-userinfo-needs-openid", func(t *testing.T) {
		tok := tokenReq(t, fx, "service", oauthtest.ServiceSecret, url.Values{"grant_type": {"client_credentials"}}).ok(t)
		mustEqual(t, "client token at userinfo", userinfoStatus(t, fx, tok.AccessToken), http.StatusForbidden)
	})

	t.Run("expired-code", func(t *testing.T) {
		fx := start(t, func(c *oauth.Config) { c.AuthorizeCodeTTL = time.Second })
		b := newBrowser(t, fx)
		code, v := loginCode(t, b, "spa", nil, alicePassword)
		// fosite reads the wall clock: wait until the code's lifetime has
		// passed (a wait on the clock, not a synchronisation with anything).
		waitPast(time.Now().Add(time.Second + 100*time.Millisecond))
		exchange(t, fx, "spa", "", code, v).fails(t, http.StatusBadRequest, "invalid_grant")
	})

	t.Run("oidcc-refresh-token-rotation-and-reuse", func(t *testing.T) {
		// No grace window: the second use of a rotated token is reuse at
		// once (the window has its own case, refresh-10-parallel).
		fx := start(t, func(c *oauth.Config) { c.RefreshGrace = -1 })
		b := newBrowser(t, fx)
		code, v := loginCode(t, b, "spa", nil, alicePassword)
		t0 := exchange(t, fx, "spa", "", code, v).ok(t)
		t1 := refresh(t, fx, "spa", "", t0.RefreshToken).ok(t)
		if t1.RefreshToken == "" || t1.RefreshToken == t0.RefreshToken || t1.IDToken == "" {
			t.Fatalf("refresh did not rotate: %+v", t1)
		}
		mustEqual(t, "old access token after rotation", userinfoStatus(t, fx, t0.AccessToken), http.StatusUnauthorized)
		t2 := refresh(t, fx, "spa", "", t1.RefreshToken).ok(t)
		// Reuse of a rotated token revokes the whole grant.
		refresh(t, fx, "spa", "", t0.RefreshToken).fails(t, http.StatusBadRequest, "invalid_grant")
		refresh(t, fx, "spa", "", t2.RefreshToken).fails(t, http.StatusBadRequest, "invalid_grant")
		mustEqual(t, "newest access token after reuse", userinfoStatus(t, fx, t2.AccessToken), http.StatusUnauthorized)
		// Another client cannot use the token either.
		refresh(t, fx, "web", oauthtest.WebSecret, t2.RefreshToken).fails(t, http.StatusBadRequest, "invalid_grant")
	})

	t.Run("refresh-10-parallel", func(t *testing.T) {
		fx := start(t, func(c *oauth.Config) { c.RefreshGrace = 5 * time.Second })
		b := newBrowser(t, fx)
		code, v := loginCode(t, b, "spa", nil, alicePassword)
		t0 := exchange(t, fx, "spa", "", code, v).ok(t)
		var wg sync.WaitGroup
		results := make([]*tokenResp, 10)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = refresh(t, fx, "spa", "", t0.RefreshToken)
			}()
		}
		wg.Wait()
		seen := map[string]bool{}
		for i, r := range results {
			if r.Status != http.StatusOK {
				t.Fatalf("parallel refresh %d: %d %s %s", i, r.Status, r.Error, r.Description)
			}
			if seen[r.RefreshToken] {
				t.Fatal("two refreshes got the same refresh token")
			}
			seen[r.RefreshToken] = true
		}
		// Every tab goes on refreshing with its own new token.
		for _, r := range results {
			refresh(t, fx, "spa", "", r.RefreshToken).ok(t)
		}
	})

	t.Run("client-credentials", func(t *testing.T) {
		tok := tokenReq(t, fx, "service", oauthtest.ServiceSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"orders:read"}}).ok(t)
		if tok.RefreshToken != "" || tok.IDToken != "" {
			t.Error("client credentials must issue an access token only")
		}
		c := verifyJWT(t, fx, tok.AccessToken)
		mustEqual(t, "sub", c["sub"], any("service"))
		mustEqual(t, "scope", c["scope"], any("orders:read"))
		op := tokenReq(t, fx, "opaque-service", oauthtest.ServiceSecret, url.Values{"grant_type": {"client_credentials"}}).ok(t)
		if !strings.HasPrefix(op.AccessToken, "authd_at_") {
			t.Errorf("opaque token %q", op.AccessToken)
		}
		// A hashed secret: the first grant pays argon2id, later ones hit the cache.
		for range 3 {
			tokenReq(t, fx, "hashed", oauthtest.HashedSecret, url.Values{"grant_type": {"client_credentials"}}).ok(t)
		}
		tokenReq(t, fx, "hashed", "not-it", url.Values{"grant_type": {"client_credentials"}}).fails(t, http.StatusUnauthorized, "invalid_client")
		tokenReq(t, fx, "web", oauthtest.WebSecret, url.Values{"grant_type": {"client_credentials"}}).fails(t, http.StatusBadRequest, "unauthorized_client")
		tokenReq(t, fx, "service", oauthtest.ServiceSecret, url.Values{"grant_type": {"urn:nope"}}).fails(t, http.StatusBadRequest, "unsupported_grant_type")
	})

	t.Run("introspection", func(t *testing.T) {
		tok := tokenReq(t, fx, "service", oauthtest.ServiceSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"orders:read"}}).ok(t)
		own := introspect(t, fx, "service", oauthtest.ServiceSecret, tok.AccessToken)
		mustEqual(t, "active for its client", own["active"], any(true))
		mustEqual(t, "client_id", own["client_id"], any("service"))
		mustEqual(t, "scope", own["scope"], any("orders:read"))
		other := introspect(t, fx, "rs", oauthtest.RSSecret, tok.AccessToken)
		mustEqual(t, "active for an unrelated client", other["active"], any(false))
		named := introspect(t, fx, "orders-rs", oauthtest.RSSecret, tok.AccessToken)
		mustEqual(t, "active for a resource server named in introspectors", named["active"], any(true))
		mustEqual(t, "client_id to the resource server", named["client_id"], any("service"))
		web := tokenReq(t, fx, "opaque-service", oauthtest.ServiceSecret, url.Values{"grant_type": {"client_credentials"}}).ok(t)
		mustEqual(t, "introspectors are per client", introspect(t, fx, "orders-rs", oauthtest.RSSecret, web.AccessToken)["active"], any(false))
		st, _ := jsonReq(t, http.MethodPost, fx.URL+"/oauth2/introspect", "service", "wrong", url.Values{"token": {tok.AccessToken}}, nil)
		mustEqual(t, "wrong secret", st, http.StatusUnauthorized)
		st, _ = jsonReq(t, http.MethodPost, fx.URL+"/oauth2/introspect", "", "", url.Values{"token": {tok.AccessToken}, "client_id": {"spa"}}, nil)
		mustEqual(t, "public client", st, http.StatusUnauthorized)
		st, _ = jsonReq(t, http.MethodPost, fx.URL+"/oauth2/introspect", "", "", url.Values{"token": {tok.AccessToken}}, nil)
		mustEqual(t, "anonymous", st, http.StatusUnauthorized)
		mustEqual(t, "garbage", introspect(t, fx, "service", oauthtest.ServiceSecret, "garbage")["active"], any(false))
		// client_secret_post works too.
		st, out := jsonReq(t, http.MethodPost, fx.URL+"/oauth2/introspect", "", "", url.Values{"token": {tok.AccessToken}, "client_id": {"service"}, "client_secret": {oauthtest.ServiceSecret}}, nil)
		if st != http.StatusOK || out["active"] != true {
			t.Errorf("client_secret_post: %d %v", st, out)
		}
	})

	t.Run("revocation", func(t *testing.T) {
		b := newBrowser(t, fx)
		code, v := loginCode(t, b, "spa", nil, alicePassword)
		tok := exchange(t, fx, "spa", "", code, v).ok(t)
		// Another client's revocation request must not revoke it.
		st, _ := jsonReq(t, http.MethodPost, fx.URL+"/oauth2/revoke", "web", oauthtest.WebSecret, url.Values{"token": {tok.RefreshToken}}, nil)
		if st == http.StatusOK {
			t.Log("revocation by another client answered 200 (RFC 7009 allows it) — checking it changed nothing")
		}
		mustEqual(t, "still valid", userinfoStatus(t, fx, tok.AccessToken), http.StatusOK)
		st, _ = jsonReq(t, http.MethodPost, fx.URL+"/oauth2/revoke", "", "", url.Values{"token": {tok.RefreshToken}, "client_id": {"spa"}}, nil)
		mustEqual(t, "revoke status", st, http.StatusOK)
		mustEqual(t, "access token after revoking the refresh token", userinfoStatus(t, fx, tok.AccessToken), http.StatusUnauthorized)
		refresh(t, fx, "spa", "", tok.RefreshToken).fails(t, http.StatusBadRequest, "invalid_grant")
		st, _ = jsonReq(t, http.MethodPost, fx.URL+"/oauth2/revoke", "", "", url.Values{"token": {"unknown"}, "client_id": {"spa"}}, nil)
		mustEqual(t, "unknown token", st, http.StatusOK)
		cc := tokenReq(t, fx, "service", oauthtest.ServiceSecret, url.Values{"grant_type": {"client_credentials"}}).ok(t)
		st, _ = jsonReq(t, http.MethodPost, fx.URL+"/oauth2/revoke", "service", oauthtest.ServiceSecret, url.Values{"token": {cc.AccessToken}}, nil)
		mustEqual(t, "revoke a JWT access token", st, http.StatusOK)
		mustEqual(t, "revoked JWT", introspect(t, fx, "service", oauthtest.ServiceSecret, cc.AccessToken)["active"], any(false))
	})

	t.Run("password-grant", func(t *testing.T) {
		ok := tokenReq(t, fx, "cli", oauthtest.CLISecret, url.Values{"grant_type": {"password"}, "username": {oauthtest.Alice}, "password": {oauthtest.AlicePassword}, "scope": {"openid email"}}).ok(t)
		if ok.RefreshToken == "" {
			t.Error("no refresh token for a client with the refresh_token grant")
		}
		in := introspect(t, fx, "cli", oauthtest.CLISecret, ok.AccessToken)
		mustEqual(t, "sub", in["sub"], any(oauthtest.Alice))
		mustEqual(t, "acr", in["acr"], any("password"))
		_, info := jsonReq(t, http.MethodGet, fx.URL+"/oauth2/userinfo", "", "", nil, map[string]string{"Authorization": "Bearer " + ok.AccessToken})
		mustEqual(t, "email", info["email"], any("alice@example.com"))
		r := refresh(t, fx, "cli", oauthtest.CLISecret, ok.RefreshToken).ok(t)
		if r.IDToken == "" {
			t.Error("refresh with openid must issue an ID token")
		}
		bad := tokenReq(t, fx, "cli", oauthtest.CLISecret, url.Values{"grant_type": {"password"}, "username": {oauthtest.Alice}, "password": {"wrong"}}).
			fails(t, http.StatusBadRequest, "invalid_grant")
		if strings.Contains(bad.Description, "more than") {
			t.Errorf("a wrong password must not be described as an MFA need: %s", bad.Description)
		}
		mfa := tokenReq(t, fx, "cli-mfa", oauthtest.CLISecret, url.Values{"grant_type": {"password"}, "username": {oauthtest.Alice}, "password": {oauthtest.AlicePassword}}).
			fails(t, http.StatusBadRequest, "invalid_grant")
		if !strings.Contains(mfa.Description, "more than a user name and password") {
			t.Errorf("description does not say why: %q", mfa.Description)
		}
		noRefresh := tokenReq(t, fx, "cli-mfa", oauthtest.CLISecret, url.Values{"grant_type": {"password"}, "username": {oauthtest.Bob}, "password": {"x"}})
		mustEqual(t, "bob wrong", noRefresh.Error, "invalid_grant")
		tokenReq(t, fx, "service", oauthtest.ServiceSecret, url.Values{"grant_type": {"password"}, "username": {oauthtest.Alice}, "password": {oauthtest.AlicePassword}}).
			fails(t, http.StatusBadRequest, "unauthorized_client")
	})
}

// waitPast returns once the wall clock has passed t, for lifetimes that
// fosite checks against time.Now.
func waitPast(t time.Time) {
	for time.Now().Before(t) {
		time.Sleep(time.Until(t))
	}
}
