package oauth_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/protocols/oauth"
	"github.com/authd/authd/protocols/oauth/internal/oauthtest"
)

func TestListKeysAfterRotation(t *testing.T) {
	kv, err := boltstore.Open(filepath.Join(t.TempDir(), "authd.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	if keys, err := oauth.ListKeys(kv); err != nil || len(keys) != 0 {
		t.Fatalf("a fresh store: %v, %v; want no keys", keys, err)
	}
	fx, err := oauthtest.Start(oauthtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fx.Close()
	if _, err := oauth.New(fx.Engine, kv, fx.Users, oauth.Config{Issuer: "https://auth.example.com"}, nil); err != nil {
		t.Fatal(err)
	}
	first, err := oauth.ListKeys(kv)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 || !first[0].Signing() || !first[1].Signing() || first[0].Alg == first[1].Alg {
		t.Fatalf("first start: %+v; want an RS256 and an ES256 key, both signing", first)
	}

	now := time.Now().Add(time.Minute)
	if err := oauth.RotateKeys(kv, nil, time.Hour, now); err != nil {
		t.Fatal(err)
	}
	keys, err := oauth.ListKeys(kv)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 4 {
		t.Fatalf("after a rotation: %d keys, want 4", len(keys))
	}
	for i, k := range keys {
		old := k.KID == first[0].KID || k.KID == first[1].KID
		switch {
		case i < 2 && (!k.Signing() || old):
			t.Errorf("key %d %+v: the new keys come first and sign", i, k)
		case i >= 2 && (k.Signing() || !old):
			t.Errorf("key %d %+v: the rotated-out keys come last, retired", i, k)
		case i >= 2 && !k.PublishUntil.Equal(now.Add(time.Hour).UTC()):
			t.Errorf("key %d published until %v, want %v", i, k.PublishUntil, now.Add(time.Hour).UTC())
		}
	}
}
