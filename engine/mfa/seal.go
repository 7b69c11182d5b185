package mfa

import "fmt"

// sealPrefix keeps the associated data of values other packages seal apart
// from the OTP secrets' ("otp\x00..."), so a sealed value of one kind can
// never be opened as the other.
const sealPrefix = "sealed\x00"

// Seal encrypts plain under the store key for a record outside this
// package (the OAuth provider's signing keys and HMAC secret), so one key
// and one mechanism protect every secret in the store. purpose binds the
// ciphertext to its place (a bucket and key): Open with another purpose
// fails, so sealed values cannot be swapped between records.
func (r *Repo) Seal(purpose string, plain []byte) ([]byte, error) {
	return r.keys.seal(plain, []byte(sealPrefix+purpose))
}

// Open decrypts what Seal made for purpose. A value sealed under another
// store key, tampered with or moved to another purpose fails; callers that
// stored KeyID beside the value can tell the first case apart.
func (r *Repo) Open(purpose string, sealed []byte) ([]byte, error) {
	plain, err := r.keys.open(sealed, []byte(sealPrefix+purpose))
	if err != nil {
		return nil, fmt.Errorf("opening a sealed %s: %w", purpose, err)
	}
	return plain, nil
}

// KeyID names the store key (a short hash of it, never the key): stored
// beside a sealed value, it tells "another store key" from "damaged".
func (r *Repo) KeyID() string { return r.keys.id }
