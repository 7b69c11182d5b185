package oauth_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/protocols/oauth"
	"github.com/authd/authd/protocols/oauth/internal/oauthtest"
)

func kids(t *testing.T, fx *oauthtest.Fixture) []string {
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
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

func headerKID(t *testing.T, tok string) string {
	t.Helper()
	jws, err := jose.ParseSigned(tok)
	if err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Header.KeyID
}

func TestKeyRotationKeepsOldTokensVerifiable(t *testing.T) {
	fx := start(t)
	before := kids(t, fx)
	if len(before) != 2 {
		t.Fatalf("first start publishes %d keys, want 2 (RS256, ES256)", len(before))
	}
	b := newBrowser(t, fx)
	code, v := loginCode(t, b, "spa", nil, alicePassword)
	old := exchange(t, fx, "spa", "", code, v).ok(t)
	oldKID := headerKID(t, old.IDToken)

	if err := fx.Provider.RotateKeys(); err != nil {
		t.Fatal(err)
	}
	after := kids(t, fx)
	if len(after) != 4 {
		t.Fatalf("after rotation %d keys published, want 4 (old ones until their tokens expire)", len(after))
	}
	verifyJWT(t, fx, old.IDToken)
	verifyJWT(t, fx, old.AccessToken)
	code, v = loginCode(t, b, "spa", url.Values{"prompt": {"login"}}, alicePassword)
	fresh := exchange(t, fx, "spa", "", code, v).ok(t)
	if headerKID(t, fresh.IDToken) == oldKID {
		t.Error("new ID tokens are still signed with the retired key")
	}
	verifyJWT(t, fx, fresh.IDToken)
	// The old access token (a stored JWT) still introspects and works.
	mustEqual(t, "old token at userinfo", userinfoStatus(t, fx, old.AccessToken), http.StatusOK)
}

func TestRotateKeysOfflineThenPrune(t *testing.T) {
	dir := t.TempDir()
	kv, err := boltstore.Open(filepath.Join(dir, "authd.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fx, err := oauthtest.Start(oauthtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fx.Close()
	// Keys are created by New on first start; rotate them offline the way
	// `authd keys rotate` does, with a retention of zero: the next sweep
	// drops the old ones.
	p, err := oauth.New(fx.Engine, kv, fx.Users, oauth.Config{Issuer: "https://auth.example.com"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = p
	if err := oauth.RotateKeys(kv, nil, 0, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := oauth.RotateKeys(kv, nil, 0, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	p2, err := oauth.New(fx.Engine, kv, fx.Users, oauth.Config{Issuer: "https://auth.example.com"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p2.Sweep(time.Now().Add(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	rec := httpGet(t, p2.Handler(), "/oauth2/jwks")
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(rec), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 {
		t.Errorf("after pruning %d keys published, want 2", len(set.Keys))
	}
	if keep := oauth.KeyRetention(fx.Config); keep < oauth.DefaultAccessTokenTTL {
		t.Errorf("retention %v is shorter than the JWT access token lifetime", keep)
	}
	_ = kv.Close()
	// The private keys never appear in plain sight in the file's JWKS.
	raw, _ := os.ReadFile(filepath.Join(dir, "authd.db"))
	if strings.Contains(string(raw), "BEGIN PRIVATE KEY") {
		t.Error("PEM in the store")
	}
}

func TestGrantsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	fx, err := oauthtest.Start(oauthtest.Options{Bolt: true, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	tok := tokenReq(t, fx, "opaque-service", oauthtest.ServiceSecret, url.Values{"grant_type": {"client_credentials"}}).ok(t)
	b := newBrowser(t, fx)
	code, v := loginCode(t, b, "spa", nil, alicePassword)
	ut := exchange(t, fx, "spa", "", code, v).ok(t)
	fx.Close()

	fx2, err := oauthtest.Start(oauthtest.Options{Bolt: true, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer fx2.Close()
	mustEqual(t, "opaque token after restart", introspect(t, fx2, "opaque-service", oauthtest.ServiceSecret, tok.AccessToken)["active"], any(true))
	refresh(t, fx2, "spa", "", ut.RefreshToken).ok(t)
}
