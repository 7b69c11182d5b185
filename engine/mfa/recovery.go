package mfa

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/authd/authd/engine/store"
)

// DefaultRecoveryCodes is how many recovery codes a user gets by default.
const DefaultRecoveryCodes = 10

// MaxRecoveryCodes bounds one set.
const MaxRecoveryCodes = 50

// recoveryAlphabet is Crockford's base32: no I, L, O or U, so a code read
// off paper is not mistyped; decoding folds those letters back.
const recoveryAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// recoveryLen is the length of a code in characters: 16 x 5 = 80 bits.
const recoveryLen = 16

// recoveryRecord is a user's set of recovery codes: keyed hashes only.
type recoveryRecord struct {
	Hashes  [][]byte  `json:"hashes"`
	KeyID   string    `json:"key_id"`
	Created time.Time `json:"created"`
	Used    int       `json:"used,omitempty"`
}

// newRecoveryCode is a random code shown as four groups of four.
func newRecoveryCode() (string, error) {
	b := make([]byte, recoveryLen)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	var s strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			s.WriteByte('-')
		}
		s.WriteByte(recoveryAlphabet[c&31]) // 256 is a multiple of 32: no bias
	}
	return s.String(), nil
}

// normalizeRecovery folds what a person may type into the canonical code:
// case, spaces and dashes do not matter, and I/L read as 1, O as 0.
func normalizeRecovery(s string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			continue
		case r == 'i' || r == 'l':
			r = '1'
		case r == 'o':
			r = '0'
		}
		if !strings.ContainsRune(recoveryAlphabet, r) {
			return "", false
		}
		b.WriteRune(r)
	}
	return b.String(), b.Len() == recoveryLen
}

func (r *Repo) recoveryHash(realm, user, normalized string) []byte {
	return r.keys.hash("recovery", realm, user, normalized)
}

// GenerateRecoveryCodes replaces the user's recovery codes with n fresh
// ones and returns them: the only time they exist outside the user's hands.
func (r *Repo) GenerateRecoveryCodes(realm, user string, n int, now time.Time) ([]string, error) {
	if err := checkNames(realm, user); err != nil {
		return nil, err
	}
	if n < 1 || n > MaxRecoveryCodes {
		return nil, fmt.Errorf("mfa: the number of recovery codes must be 1 to %d, not %d", MaxRecoveryCodes, n)
	}
	codes := make([]string, n)
	rec := &recoveryRecord{KeyID: r.keys.id, Created: now.UTC()}
	for i := range codes {
		c, err := newRecoveryCode()
		if err != nil {
			return nil, fmt.Errorf("mfa: generating recovery codes: %w", err)
		}
		codes[i] = c
		norm, _ := normalizeRecovery(c)
		rec.Hashes = append(rec.Hashes, r.recoveryHash(realm, user, norm))
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	if err := r.kv.Update(func(tx store.Tx) error {
		return tx.Put(bucketRecovery, recoveryKey(realm, user), b)
	}); err != nil {
		return nil, err
	}
	return codes, nil
}

// UseRecoveryCode reports whether code is one of the user's unused
// recovery codes and, if so, burns it in the same transaction: each code
// works once, even under concurrent requests.
func (r *Repo) UseRecoveryCode(realm, user, code string) (bool, error) {
	if err := checkNames(realm, user); err != nil {
		return false, err
	}
	norm, ok := normalizeRecovery(code)
	var h []byte
	if ok {
		h = r.recoveryHash(realm, user, norm)
	}
	used := false
	err := r.kv.Update(func(tx store.Tx) error {
		used = false
		b := tx.Get(bucketRecovery, recoveryKey(realm, user))
		if b == nil || !ok {
			return nil
		}
		rec := new(recoveryRecord)
		if err := json.Unmarshal(b, rec); err != nil {
			return fmt.Errorf("mfa: the stored recovery codes of user %q in realm %q are damaged", user, realm)
		}
		if rec.KeyID != "" && rec.KeyID != r.keys.id {
			return fmt.Errorf("user %q in realm %q: the recovery codes were hashed with another store key; generate new ones", user, realm)
		}
		at := -1
		for i, x := range rec.Hashes {
			if subtle.ConstantTimeCompare(x, h) == 1 && at < 0 {
				at = i
			}
		}
		if at < 0 {
			return nil
		}
		rec.Hashes = append(rec.Hashes[:at], rec.Hashes[at+1:]...)
		rec.Used++
		nb, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		used = true
		return tx.Put(bucketRecovery, recoveryKey(realm, user), nb)
	})
	if err != nil {
		return false, err
	}
	return used, nil
}

// RecoveryStatus is what `authd recovery-codes` and journeys may know about
// a user's codes: how many are left and when they were made.
type RecoveryStatus struct {
	Left    int
	Used    int
	Created time.Time
}

// RecoveryCodes returns the state of the user's recovery codes (a zero
// status when they have none).
func (r *Repo) RecoveryCodes(realm, user string) (RecoveryStatus, error) {
	if err := checkNames(realm, user); err != nil {
		return RecoveryStatus{}, err
	}
	var st RecoveryStatus
	err := r.kv.View(func(tx store.Tx) error {
		b := tx.Get(bucketRecovery, recoveryKey(realm, user))
		if b == nil {
			return nil
		}
		rec := new(recoveryRecord)
		if err := json.Unmarshal(b, rec); err != nil {
			return errors.New("mfa: the stored recovery codes are damaged")
		}
		st = RecoveryStatus{Left: len(rec.Hashes), Used: rec.Used, Created: rec.Created}
		return nil
	})
	return st, err
}

// HashCode returns a keyed hash of a short-lived code (an SMS code) bound
// to scope (the session), so the session stores no code a copy of the
// store would reveal: a plain hash of a 6-digit code is reversed by trying
// all million. CheckCode compares in constant time.
func (r *Repo) HashCode(scope, code string) []byte {
	c, _ := normalizeCode(code)
	return r.keys.hash("code", scope, c)
}

// CheckCode reports whether code hashes to h under scope.
func (r *Repo) CheckCode(h []byte, scope, code string) bool {
	c, ok := normalizeCode(code)
	if !ok || len(h) == 0 {
		return false
	}
	return subtle.ConstantTimeCompare(h, r.keys.hash("code", scope, c)) == 1
}

// NewNumericCode returns a random code of n digits from crypto/rand,
// uniformly distributed (rejection sampling, no modulo bias).
func NewNumericCode(n int) (string, error) {
	if n < 4 || n > 10 {
		return "", fmt.Errorf("mfa: a numeric code has 4 to 10 digits, not %d", n)
	}
	out := make([]byte, n)
	buf := make([]byte, 1)
	for i := 0; i < n; {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		if buf[0] >= 250 { // 250 = 25 x 10: keep the rest uniform
			continue
		}
		out[i] = '0' + buf[0]%10
		i++
	}
	return string(out), nil
}
