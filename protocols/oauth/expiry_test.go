package oauth_test

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/protocols/oauth"
	"github.com/authd/authd/protocols/oauth/internal/oauthtest"
	"github.com/authd/authd/protocols/oauth/storage"
)

// TestCodeExchangeExpiry: the access, refresh and ID tokens of an
// authorization-code exchange carry the relying party's lifetimes — in
// introspection (opaque and JWT access tokens), in the provider's own
// lookup and in the token response — with PKCE or without, and a refresh
// token past its refresh_token_ttl is refused. (fosite decodes the code's
// stored session into the request's after setting the tokens' expiries;
// tokens used to come out with none: access tokens that lived until
// swept, refresh tokens that never expired.)
func TestCodeExchangeExpiry(t *testing.T) {
	const (
		webAccess, webRefresh = 7 * time.Minute, 3 * time.Second
		spaAccess, spaRefresh = 9 * time.Minute, 4 * time.Second
		idTTL                 = 20 * time.Minute
	)
	fx := start(t, func(c *oauth.Config) {
		c.IDTokenTTL = idTTL
		for _, cl := range c.Clients {
			// The resource server "rs" introspects (spa, public, cannot).
			cl.Introspectors = append(cl.Introspectors, "rs")
			switch cl.ID {
			case "web":
				cl.AccessTokenTTL, cl.RefreshTokenTTL = webAccess, webRefresh
			case "spa":
				cl.AccessTokenTTL, cl.RefreshTokenTTL = spaAccess, spaRefresh
			}
		}
	})
	for _, tc := range []struct {
		name, client, secret string
		extra                url.Values // nil code_challenge: no PKCE
		steps                answers
		access, refresh      time.Duration
	}{
		{"confidential-without-pkce", "web", oauthtest.WebSecret, url.Values{"code_challenge": nil}, aliceMFA, webAccess, webRefresh},
		{"confidential-with-pkce", "web", oauthtest.WebSecret, nil, aliceMFA, webAccess, webRefresh},
		{"public-pkce-jwt-access-token", "spa", "", nil, alicePassword, spaAccess, spaRefresh},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, v := loginCode(t, newBrowser(t, fx), tc.client, tc.extra, tc.steps)
			issued := time.Now()
			tok := exchange(t, fx, tc.client, tc.secret, code, v).ok(t)
			if tok.RefreshToken == "" {
				t.Fatal("no refresh token")
			}
			if d := tok.ExpiresIn - int(tc.access/time.Second); d < -2 || d > 2 {
				t.Errorf("expires_in %d, want about %d", tok.ExpiresIn, int(tc.access/time.Second))
			}
			at := introspectExp(t, fx, tok.AccessToken, issued, tc.access)
			rt := introspectExp(t, fx, tok.RefreshToken, issued, tc.refresh)
			if info, ok := fx.Provider.IntrospectAccessToken(context.Background(), tok.AccessToken); !ok || info.Expires.Unix() != at {
				t.Errorf("IntrospectAccessToken: %+v %v, want expiry %d", info, ok, at)
			}
			if strings.Count(tok.AccessToken, ".") == 2 {
				mustEqual(t, "JWT access token exp", int64(claimsOf(t, tok.AccessToken)["exp"].(float64)), at)
			}
			idc := claimsOf(t, tok.IDToken)
			mustEqual(t, "ID token lifetime", int64(idc["exp"].(float64)-idc["iat"].(float64)), int64(idTTL/time.Second))

			// fosite reads the wall clock: wait until the refresh token's
			// expiry has passed.
			waitPast(time.Unix(rt, 0).Add(50 * time.Millisecond))
			r := refresh(t, fx, tc.client, tc.secret, tok.RefreshToken).fails(t, http.StatusBadRequest, "invalid_grant")
			if !strings.Contains(r.Description, "expired") {
				t.Errorf("refused for another reason than expiry: %s", r.Description)
			}
		})
	}
}

// TestRefreshTokenWithoutExpiry: a refresh token stored without an expiry
// — as code exchanges stored them before e003541; here one issued while
// the relying party's refresh_token_ttl was never — lives only as long as
// refresh_token_ttl says now: it is refused after issue + ttl and the
// sweeper drops it, while a relying party whose refresh_token_ttl is still
// never keeps refreshing.
func TestRefreshTokenWithoutExpiry(t *testing.T) {
	for _, tc := range []struct {
		name    string
		later   time.Duration // the cli relying party's refresh_token_ttl after issue
		expires bool
	}{
		{"refresh_token_ttl-still-never", oauth.Never, false},
		{"refresh_token_ttl-set-since", time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := start(t, func(c *oauth.Config) {
				for _, cl := range c.Clients {
					if cl.ID == "cli" {
						cl.RefreshTokenTTL = oauth.Never
						cl.Introspectors = append(cl.Introspectors, "rs")
					}
				}
			})
			setRefreshTTL := func(d time.Duration) {
				t.Helper()
				var cs []*oauth.Client
				for _, cl := range fx.Config.Clients {
					c := *cl
					if c.ID == "cli" {
						c.RefreshTokenTTL = d
					}
					cs = append(cs, &c)
				}
				if err := fx.Provider.SetClients(cs); err != nil {
					t.Fatal(err)
				}
			}
			tok := tokenReq(t, fx, "cli", oauthtest.CLISecret, url.Values{"grant_type": {"password"}, "username": {oauthtest.Alice}, "password": {oauthtest.AlicePassword}, "scope": {"openid"}}).ok(t)
			issued := time.Now()
			if tok.RefreshToken == "" {
				t.Fatal("no refresh token")
			}
			if out := introspect(t, fx, "rs", oauthtest.RSSecret, tok.RefreshToken); out["active"] != true || out["exp"] != nil {
				t.Fatalf("a refresh token of a relying party whose refresh_token_ttl is never: %v", out)
			}
			// The start's look at unexpiring tokens is spent here; the
			// reload below must ask for another.
			if _, err := fx.Provider.Sweep(time.Now()); err != nil {
				t.Fatal(err)
			}
			if tc.expires {
				// Its expiry follows refresh_token_ttl as it is now.
				setRefreshTTL(time.Hour)
				introspectExp(t, fx, tok.RefreshToken, issued, time.Hour)
			}
			setRefreshTTL(tc.later)
			waitPast(issued.Add(time.Second + 50*time.Millisecond))
			if tc.expires {
				r := refresh(t, fx, "cli", oauthtest.CLISecret, tok.RefreshToken).fails(t, http.StatusBadRequest, "invalid_grant")
				if !strings.Contains(r.Description, "expired") {
					t.Errorf("refused for another reason than expiry: %s", r.Description)
				}
			}

			mustEqual(t, "refresh tokens stored before the sweep", refreshRecords(t, fx), 1)
			if _, err := fx.Provider.Sweep(time.Now().AddDate(1, 0, 0)); err != nil {
				t.Fatal(err)
			}
			if tc.expires {
				mustEqual(t, "refresh tokens stored after the sweep", refreshRecords(t, fx), 0)
				return
			}
			mustEqual(t, "refresh tokens stored after the sweep", refreshRecords(t, fx), 1)
			if refresh(t, fx, "cli", oauthtest.CLISecret, tok.RefreshToken).ok(t).RefreshToken == "" {
				t.Error("no new refresh token")
			}
		})
	}
}

// refreshRecords counts the refresh tokens in the fixture's store.
func refreshRecords(t *testing.T, fx *oauthtest.Fixture) int {
	t.Helper()
	n := 0
	if err := fx.KV.View(func(tx store.Tx) error {
		return tx.ForEach(storage.BucketRefresh, nil, func(_, _ []byte) error { n++; return nil })
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// introspectExp introspects token as the resource server "rs" and checks
// that it is active with exp within two seconds of issued+ttl (fosite
// rounds expiries to the second). It returns exp.
func introspectExp(t *testing.T, fx *oauthtest.Fixture, token string, issued time.Time, ttl time.Duration) int64 {
	t.Helper()
	out := introspect(t, fx, "rs", oauthtest.RSSecret, token)
	if out["active"] != true {
		t.Fatalf("inactive: %v", out)
	}
	exp, ok := out["exp"].(float64)
	if !ok {
		t.Fatalf("no exp in %v", out)
	}
	if want := float64(issued.Add(ttl).Unix()); math.Abs(exp-want) > 2 {
		t.Fatalf("%s: exp %d, want about %d (now + %s)", out["token_type"], int64(exp), int64(want), ttl)
	}
	return int64(exp)
}
