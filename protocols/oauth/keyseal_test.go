package oauth_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/engine/mfa"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/protocols/oauth"
	"github.com/authd/authd/protocols/oauth/internal/oauthtest"
)

// The signing keys and the HMAC secret are sealed with the store key, as
// OTP secrets are, so that a copy of the store or of a backup without the
// key cannot forge tokens. These tests read the raw oauth_keys bucket.

const sealTestBucket = "oauth_keys"

// sealTest is a provider fixture (engine, users) and an empty store on
// which tests start providers with or without a Sealer.
type sealTest struct {
	fx *oauthtest.Fixture
	kv *boltstore.Store
}

func newSealTest(t *testing.T) *sealTest {
	t.Helper()
	fx, err := oauthtest.Start(oauthtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fx.Close() })
	return &sealTest{fx: fx, kv: sealTestStore(t)}
}

// start builds a provider on the store; s may be nil (an earlier build).
func (st *sealTest) start(s oauth.Sealer) (*oauth.Provider, error) {
	return oauth.New(st.fx.Engine, st.kv, st.fx.Users, oauth.Config{Issuer: "https://auth.example.com", Sealer: s}, nil)
}

func (st *sealTest) mustStart(t *testing.T, s oauth.Sealer) *oauth.Provider {
	t.Helper()
	p, err := st.start(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func sealTestStore(t *testing.T) *boltstore.Store {
	t.Helper()
	kv, err := boltstore.Open(filepath.Join(t.TempDir(), "authd.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	return kv
}

func sealTestRepo(t *testing.T, kv store.KV, master string) *mfa.Repo {
	t.Helper()
	r, err := mfa.NewRepo(kv, []byte(master))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// rawBucket returns every record of oauth_keys, copied.
func rawBucket(t *testing.T, kv store.KV) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := kv.View(func(tx store.Tx) error {
		return tx.ForEach(sealTestBucket, nil, func(k, v []byte) error {
			out[string(k)] = append([]byte(nil), v...)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// secretsOf opens what the bucket seals with r: the PKCS#8 of every key
// and the HMAC secret.
func secretsOf(t *testing.T, raw map[string][]byte, r *mfa.Repo) [][]byte {
	t.Helper()
	var out [][]byte
	for k, v := range raw {
		var rec struct {
			PKCS8  []byte `json:"pkcs8"`
			Sealed []byte `json:"sealed"`
		}
		if err := json.Unmarshal(v, &rec); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if rec.PKCS8 != nil {
			t.Errorf("%s holds its private key in clear", k)
		}
		if rec.Sealed == nil {
			t.Fatalf("%s is not sealed", k)
		}
		purpose := sealTestBucket + "/" + k
		if k == "hmac_sealed" {
			purpose = sealTestBucket + "/hmac"
		}
		plain, err := r.Open(purpose, rec.Sealed)
		if err != nil {
			t.Fatalf("%s does not open with the store key: %v", k, err)
		}
		out = append(out, plain)
	}
	return out
}

func assertNoClearSecrets(t *testing.T, kv store.KV, r *mfa.Repo) {
	t.Helper()
	raw := rawBucket(t, kv)
	if _, ok := raw["hmac"]; ok {
		t.Error("the HMAC secret is stored in clear")
	}
	if _, ok := raw["hmac_sealed"]; !ok {
		t.Error("no sealed HMAC secret")
	}
	secrets := secretsOf(t, raw, r)
	if len(secrets) != 3 {
		t.Fatalf("%d sealed records, want 2 keys and the HMAC secret", len(secrets))
	}
	for _, sec := range secrets {
		b64 := []byte(base64.StdEncoding.EncodeToString(sec))
		for k, v := range raw {
			if bytes.Contains(v, sec) || bytes.Contains(v, b64) {
				t.Errorf("%s holds a secret in clear", k)
			}
		}
	}
}

func TestKeysSealedAtRest(t *testing.T) {
	st := newSealTest(t)
	kv := st.kv
	r := sealTestRepo(t, kv, strings.Repeat("k", 32))
	st.mustStart(t, r)
	assertNoClearSecrets(t, kv, r)

	// A rotation seals the new keys too; the listing needs no key.
	if err := oauth.RotateKeys(kv, r, time.Hour, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if keys, err := oauth.ListKeys(kv); err != nil || len(keys) != 4 {
		t.Fatalf("after a rotation: %d keys, %v; want 4", len(keys), err)
	}
	for k, v := range rawBucket(t, kv) {
		if bytes.Contains(v, []byte(`"pkcs8"`)) || k == "hmac" {
			t.Errorf("after a rotation %s is in clear", k)
		}
	}
	// Without the store key a sealed store is refused, not rotated with
	// clear keys beside the sealed ones, and not loaded.
	if err := oauth.RotateKeys(kv, nil, time.Hour, time.Now()); err == nil {
		t.Error("a rotation without the store key succeeded on a sealed store")
	}
	if _, err := st.start(nil); err == nil || !strings.Contains(err.Error(), "store key") {
		t.Errorf("a sealed store without the store key: %v; want an error naming the store key", err)
	}
}

// A store written by an earlier build holds the keys in clear (as a
// provider without a Sealer still writes them). It loads, keeps its keys
// and secret (tokens already issued still verify), and is sealed at start.
func TestUnsealedStoreSealedAtStart(t *testing.T) {
	st := newSealTest(t)
	kv := st.kv
	old := st.mustStart(t, nil)
	before := rawBucket(t, kv)
	clearSecret := before["hmac"]
	if len(clearSecret) != 32 || !bytes.Contains(before[firstKey(before)], []byte(`"pkcs8"`)) {
		t.Fatalf("the earlier build's records are not in clear: %q", before)
	}
	jwks := httpGet(t, old.Handler(), "/oauth2/jwks")

	r := sealTestRepo(t, kv, strings.Repeat("k", 32))
	p := st.mustStart(t, r)
	assertNoClearSecrets(t, kv, r)
	if got := httpGet(t, p.Handler(), "/oauth2/jwks"); got != jwks {
		t.Errorf("sealing changed the published keys:\n%s\nwant\n%s", got, jwks)
	}
	var sealed struct {
		Sealed []byte `json:"sealed"`
	}
	if err := json.Unmarshal(rawBucket(t, kv)["hmac_sealed"], &sealed); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Open(sealTestBucket+"/hmac", sealed.Sealed); err != nil || !bytes.Equal(got, clearSecret) {
		t.Errorf("the HMAC secret changed when sealed (%v): opaque tokens already issued would fail", err)
	}
	// A second start finds nothing left to seal and the same keys.
	if got := httpGet(t, st.mustStart(t, r).Handler(), "/oauth2/jwks"); got != jwks {
		t.Error("a second start changed the published keys")
	}
}

func firstKey(raw map[string][]byte) string {
	for k := range raw {
		if strings.HasPrefix(k, "key/") {
			return k
		}
	}
	return ""
}

// Another store key (changed, or a store from another installation) is a
// clear error naming it, not a panic and not new keys.
func TestKeysWrongStoreKey(t *testing.T) {
	st := newSealTest(t)
	kv := st.kv
	st.mustStart(t, sealTestRepo(t, kv, strings.Repeat("k", 32)))
	before := rawBucket(t, kv)
	wrong := sealTestRepo(t, kv, strings.Repeat("w", 32))
	_, err := st.start(wrong)
	if !errors.Is(err, oauth.ErrWrongStoreKey) || !strings.Contains(err.Error(), "store key") {
		t.Fatalf("New with another store key: %v; want ErrWrongStoreKey", err)
	}
	// A rotation need not open the old keys, but adding keys sealed under
	// another key would leave a store no key opens whole: it must refuse.
	if err := oauth.RotateKeys(kv, wrong, time.Hour, time.Now()); !errors.Is(err, oauth.ErrWrongStoreKey) {
		t.Errorf("rotate with another store key: %v; want ErrWrongStoreKey", err)
	}
	after := rawBucket(t, kv)
	if len(after) != len(before) {
		t.Errorf("a refused start or rotation changed the store: %d records, had %d", len(after), len(before))
	}
}
