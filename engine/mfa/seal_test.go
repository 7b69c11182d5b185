package mfa_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/authd/authd/engine/mfa"
	"github.com/authd/authd/engine/store/memstore"
)

// Seal lets other packages (the OAuth provider's keys) seal under the
// store key: a value opens only under the same key and purpose, so a
// sealed value cannot be moved to another record or read with a wrong key.
func TestSealOpen(t *testing.T) {
	kv := memstore.New()
	r, err := mfa.NewRepo(kv, []byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("private key bytes")
	sealed, err := r.Seal("oauth_keys/key/a", plain)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, plain) {
		t.Fatal("the sealed value holds the plain text")
	}
	if got, err := r.Open("oauth_keys/key/a", sealed); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open: %q, %v", got, err)
	}
	if _, err := r.Open("oauth_keys/key/b", sealed); err == nil {
		t.Error("a value opened under another purpose")
	}
	other, err := mfa.NewRepo(kv, []byte(strings.Repeat("o", 32)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Open("oauth_keys/key/a", sealed); err == nil {
		t.Error("a value opened under another store key")
	}
	if r.KeyID() == "" || r.KeyID() == other.KeyID() {
		t.Errorf("key ids %q and %q do not tell the keys apart", r.KeyID(), other.KeyID())
	}
}
