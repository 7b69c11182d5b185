package oauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"math/big"
	"testing"
)

// TestDERToRS checks the r||s conversion over enough signatures that some
// r or s has leading zero bytes (1 in 128).
func TestDERToRS(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("payload"))
	short := 0
	for range 2000 {
		der, err := ecdsa.SignASN1(rand.Reader, k, d[:])
		if err != nil {
			t.Fatal(err)
		}
		rs, err := derToRS(der, 32)
		if err != nil || len(rs) != 64 {
			t.Fatalf("derToRS: %v (%d bytes)", err, len(rs))
		}
		if rs[0] == 0 || rs[32] == 0 {
			short++
		}
		if !ecdsa.Verify(&k.PublicKey, d[:], new(big.Int).SetBytes(rs[:32]), new(big.Int).SetBytes(rs[32:])) {
			t.Fatal("r||s does not verify")
		}
	}
	if short == 0 {
		t.Log("no signature with a leading zero byte this time")
	}
	for _, bad := range [][]byte{nil, {0x30}, {0x30, 0x02, 0x02, 0x01}, append([]byte{0x30, 0x45, 0x02, 0x21}, make([]byte, 0x40)...)} {
		if _, err := derToRS(bad, 32); err == nil {
			t.Errorf("derToRS(%x) accepted", bad)
		}
	}
}
