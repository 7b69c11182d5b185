package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/protocols/oauth"
)

func TestKeysCommand(t *testing.T) {
	e := env{dir: configDir(t, map[string]string{"authd.hcl": goodConfig + `
relying_party "app" {
  realm         = realm.corp
  client_type   = "confidential"
  client_id     = "app"
  client_secret = "app-secret-for-the-test"
  grant_types   = ["client_credentials"]
  scopes        = ["api"]
}
`})}
	// No store yet: nothing to list, and a rotation makes none.
	e.run(t, "keys", "list").oneLineErr(t, "no store at")
	e.run(t, "keys", "rotate").oneLineErr(t, "no store at")

	list := func() []oauth.KeyInfo {
		t.Helper()
		r := e.run(t, "keys", "list", "-format", "json")
		r.want(t, 0, nil, nil)
		var keys []oauth.KeyInfo
		if err := json.Unmarshal([]byte(r.stdout), &keys); err != nil {
			t.Fatalf("keys list -format json: %v\n%s", err, r)
		}
		return keys
	}
	signing := func(keys []oauth.KeyInfo) []string {
		var kids []string
		for _, k := range keys {
			if k.Signing() {
				kids = append(kids, k.KID)
			}
		}
		return kids
	}

	// Through the running server: the JWKS changes at once.
	s := e.startServer(t)
	jwks := func() []string {
		t.Helper()
		resp, err := http.Get("http://" + s.addr + "/oauth2/jwks")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var set struct {
			Keys []struct {
				KID string `json:"kid"`
			} `json:"keys"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
			t.Fatal(err)
		}
		var kids []string
		for _, k := range set.Keys {
			kids = append(kids, k.KID)
		}
		slices.Sort(kids)
		return kids
	}
	first := list()
	if len(first) != 2 || len(signing(first)) != 2 {
		t.Fatalf("a first start makes two signing keys: %+v", first)
	}
	r := e.run(t, "keys", "rotate")
	r.want(t, 0, []string{"signing keys rotated", "signing", "rotated out", "published until"}, nil)
	for _, k := range first {
		if strings.Contains(r.stdout, k.KID+"  ") && !strings.Contains(r.stdout, "rotated out") {
			t.Errorf("the old key %s is not shown rotated out:\n%s", k.KID, r)
		}
	}
	second := list()
	now := signing(second)
	if len(second) != 4 || len(now) != 2 || slices.Contains(now, first[0].KID) || slices.Contains(now, first[1].KID) {
		t.Fatalf("after a rotation: %+v; want two new signing keys and the two old ones", second)
	}
	var all []string
	for _, k := range second {
		all = append(all, k.KID)
	}
	slices.Sort(all)
	if got := jwks(); !slices.Equal(got, all) {
		t.Errorf("the JWKS publishes %v after the rotation, want %v (the old keys until their tokens expire)", got, all)
	}
	e.run(t, "audit", "-kind", "admin").want(t, 0, []string{"op=keys.rotate", "admin success"}, nil)
	s.stop()

	// Without a server: the store itself, the configuration required.
	e.run(t, "keys", "rotate").want(t, 0, []string{"signing keys rotated"}, nil)
	third := list()
	if len(third) != 6 || len(signing(third)) != 2 {
		t.Fatalf("after an offline rotation: %+v", third)
	}
	// The server's keys and the offline rotation's are all sealed with the
	// store key (DATA/store.key here): no private key or HMAC secret in
	// clear in the store.
	assertKeysSealed(t, filepath.Join(e.dir, "data", "authd.db"), 6)
	bare := env{dir: shortDir(t)}
	bare.run(t, "keys", "rotate", "-data", filepath.Join(e.dir, "data")).oneLineErr(t, "pass -config")
	if got := list(); len(got) != 6 {
		t.Errorf("a refused rotation changed the keys: %d, want 6", len(got))
	}
	e.run(t, "keys", "list").want(t, 0, []string{"KID", "ALG", "signing", "rotated out"}, nil)
	e.run(t, "keys", "lst").want(t, 2, nil, []string{`did you mean "list"`})
}

// assertKeysSealed checks the raw oauth_keys bucket of the store at path:
// want sealed signing keys, a sealed HMAC secret, nothing in clear.
func assertKeysSealed(t *testing.T, path string, want int) {
	t.Helper()
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := 0
	err = st.View(func(tx store.Tx) error {
		if tx.Get("oauth_keys", []byte("hmac")) != nil || tx.Get("oauth_keys", []byte("hmac_sealed")) == nil {
			t.Error("the HMAC secret of opaque tokens is not sealed")
		}
		return tx.ForEach("oauth_keys", []byte("key/"), func(k, v []byte) error {
			n++
			var rec map[string]any
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			if rec["pkcs8"] != nil || rec["sealed"] == nil {
				t.Errorf("%s is not sealed", k)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Errorf("%d signing keys stored, want %d", n, want)
	}
}
