package mfa

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/authd/authd/engine/store"
)

// Store buckets of this package. Keys are realm NUL user NUL id (tokens)
// and realm NUL user (recovery codes): NUL occurs in no realm or user name,
// so one user's records are one prefix walk.
const (
	bucketOTP      = "mfa_otp"
	bucketRecovery = "mfa_recovery"
)

// PendingTTL is how long an enrolled but unconfirmed token is kept; an
// enrolment abandoned halfway is removed by the next one after that.
const PendingTTL = time.Hour

// Errors callers may test for.
var (
	// ErrNoToken means the token (or, for Confirm, the pending enrolment)
	// does not exist.
	ErrNoToken = errors.New("no such OTP token")
	// ErrEnrolled means a confirmed token exists and the caller did not
	// allow another (enrollment_mode = "single_device").
	ErrEnrolled = errors.New("the user already has an OTP token")
	// ErrWrongKey means a secret was sealed under another store key: the
	// key changed, or the store came from another installation.
	ErrWrongKey = errors.New("the OTP secret was encrypted with another store key")
)

// Repo keeps OTP tokens and recovery codes on a store.KV. It is safe for
// concurrent use.
type Repo struct {
	kv   store.KV
	keys *keyring
}

// NewRepo returns a repository over kv whose secrets are sealed under a key
// derived from master (see ResolveKey; at least MinKeyLen bytes).
func NewRepo(kv store.KV, master []byte) (*Repo, error) {
	if kv == nil {
		return nil, errors.New("mfa: NewRepo needs a store")
	}
	k, err := newKeyring(master)
	if err != nil {
		return nil, err
	}
	return &Repo{kv: kv, keys: k}, nil
}

// The repositories attached to stores, so nodes find the one of the
// engine's store without a field in engine.Services (see Attach).
var (
	attachedMu sync.RWMutex
	attached   = map[store.KV]*Repo{}
)

// Attach makes r the repository nodes use for kv. The server calls it once
// after opening the store and resolving the key; nodes then find it with
// For(Services.KV). A store has one key, so attaching again replaces.
func Attach(kv store.KV, r *Repo) {
	attachedMu.Lock()
	defer attachedMu.Unlock()
	if r == nil {
		delete(attached, kv)
		return
	}
	attached[kv] = r
}

// For returns the repository attached to kv, or nil.
func For(kv store.KV) *Repo {
	if kv == nil {
		return nil
	}
	attachedMu.RLock()
	defer attachedMu.RUnlock()
	return attached[kv]
}

// Token describes an OTP token, without its secret.
type Token struct {
	ID        string
	Params    Params
	Issuer    string
	Confirmed bool
	// Counter is the next HOTP counter; LastStep the last TOTP time step
	// accepted (0: none yet).
	Counter  uint64
	LastStep int64
	Created  time.Time
	LastUsed time.Time
}

// tokenRecord is a token as stored. Secret is sealed (nonce || ciphertext).
type tokenRecord struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Algorithm string    `json:"algorithm"`
	Digits    int       `json:"digits"`
	Period    int       `json:"period,omitempty"` // seconds
	Issuer    string    `json:"issuer"`
	Secret    []byte    `json:"secret"`
	KeyID     string    `json:"key_id"`
	Confirmed bool      `json:"confirmed"`
	Counter   uint64    `json:"counter,omitempty"`
	LastStep  int64     `json:"last_step,omitempty"`
	Created   time.Time `json:"created"`
	LastUsed  time.Time `json:"last_used,omitzero"`
}

func (t *tokenRecord) params() Params {
	return Params{Type: t.Type, Algorithm: t.Algorithm, Digits: t.Digits, Period: time.Duration(t.Period) * time.Second}
}

func (t *tokenRecord) public() Token {
	return Token{ID: t.ID, Params: t.params(), Issuer: t.Issuer, Confirmed: t.Confirmed,
		Counter: t.Counter, LastStep: t.LastStep, Created: t.Created, LastUsed: t.LastUsed}
}

func userPrefix(realm, user string) []byte { return []byte(realm + "\x00" + user + "\x00") }
func tokenKey(realm, user, id string) []byte {
	return []byte(realm + "\x00" + user + "\x00" + id)
}
func recoveryKey(realm, user string) []byte { return []byte(realm + "\x00" + user) }

func tokenAAD(realm, user, id string) []byte {
	return []byte("otp\x00" + realm + "\x00" + user + "\x00" + id)
}

func checkNames(realm, user string) error {
	if realm == "" || user == "" {
		return errors.New("mfa: realm and user are required")
	}
	for _, s := range []string{realm, user} {
		for i := 0; i < len(s); i++ {
			if s[i] == 0 {
				return errors.New("mfa: a realm or user name contains NUL")
			}
		}
	}
	return nil
}

func newID() (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// loadTokens reads every token of a user, sorted by creation.
func loadTokens(tx store.Tx, realm, user string) ([]*tokenRecord, error) {
	var out []*tokenRecord
	err := tx.ForEach(bucketOTP, userPrefix(realm, user), func(k, v []byte) error {
		t := new(tokenRecord)
		if err := json.Unmarshal(v, t); err != nil {
			return fmt.Errorf("mfa: the stored OTP token %q of user %q in realm %q is damaged", k[len(userPrefix(realm, user)):], user, realm)
		}
		out = append(out, t)
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, err
}

func putToken(tx store.Tx, realm, user string, t *tokenRecord) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return tx.Put(bucketOTP, tokenKey(realm, user, t.ID), b)
}

func (r *Repo) secret(realm, user string, t *tokenRecord) ([]byte, error) {
	s, err := r.keys.open(t.Secret, tokenAAD(realm, user, t.ID))
	if err != nil {
		if t.KeyID != "" && t.KeyID != r.keys.id {
			return nil, fmt.Errorf("user %q in realm %q, token %s: %w (key id %s, current %s)", user, realm, t.ID, ErrWrongKey, t.KeyID, r.keys.id)
		}
		return nil, fmt.Errorf("user %q in realm %q, token %s: the sealed OTP secret is damaged", user, realm, t.ID)
	}
	return s, nil
}

// Enrollment is a freshly enrolled token: the one time its URI (with the
// secret) is available.
type Enrollment struct {
	Token Token
	// URI is the otpauth:// URI for the app; it holds the secret and is
	// never stored or shown again.
	URI string
}

// Enroll creates a token for a user with a random secret and returns its
// otpauth:// URI (issuer and account name label the token in the app).
// A token enrolled with confirmed = false is pending: Verify ignores it
// until Confirm accepts one code from it, which proves the app holds it.
// Administrators enrol confirmed tokens (they hand the URI over
// themselves). Pending tokens older than PendingTTL are removed.
func (r *Repo) Enroll(realm, user, issuer string, p Params, confirmed bool, now time.Time) (*Enrollment, error) {
	if err := checkNames(realm, user); err != nil {
		return nil, err
	}
	p, err := p.withDefaults()
	if err != nil {
		return nil, err
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	secret := make([]byte, secretSize(p.Algorithm))
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("mfa: generating a secret: %w", err)
	}
	uri, err := buildURI(p, secret, issuer, user)
	if err != nil {
		return nil, err
	}
	sealed, err := r.keys.seal(secret, tokenAAD(realm, user, id))
	if err != nil {
		return nil, err
	}
	rec := &tokenRecord{
		ID: id, Type: p.Type, Algorithm: p.Algorithm, Digits: p.Digits, Period: int(p.Period / time.Second),
		Issuer: issuer, Secret: sealed, KeyID: r.keys.id, Confirmed: confirmed, Created: now.UTC(),
	}
	err = r.kv.Update(func(tx store.Tx) error {
		old, err := loadTokens(tx, realm, user)
		if err != nil {
			return err
		}
		for _, t := range old {
			if !t.Confirmed && now.Sub(t.Created) > PendingTTL {
				if err := tx.Delete(bucketOTP, tokenKey(realm, user, t.ID)); err != nil {
					return err
				}
			}
		}
		return putToken(tx, realm, user, rec)
	})
	if err != nil {
		return nil, err
	}
	return &Enrollment{Token: rec.public(), URI: uri}, nil
}

// URI returns the otpauth:// URI of a pending token again, so an enrolment
// page asked twice shows the same QR code. A confirmed token's URI is never
// returned: after enrolment the secret does not leave the store.
func (r *Repo) URI(realm, user, id string) (string, error) {
	if err := checkNames(realm, user); err != nil {
		return "", err
	}
	var uri string
	err := r.kv.View(func(tx store.Tx) error {
		b := tx.Get(bucketOTP, tokenKey(realm, user, id))
		if b == nil {
			return ErrNoToken
		}
		t := new(tokenRecord)
		if err := json.Unmarshal(b, t); err != nil {
			return fmt.Errorf("mfa: the stored OTP token %s is damaged", id)
		}
		if t.Confirmed {
			return errors.New("mfa: the secret of a confirmed token is not shown again")
		}
		s, err := r.secret(realm, user, t)
		if err != nil {
			return err
		}
		uri, err = buildURI(t.params(), s, t.Issuer, user)
		return err
	})
	return uri, err
}

// Replace decides what confirming a token does to the user's other
// confirmed tokens: it mirrors the realm's enrollment_mode.
type Replace int

// Replace modes.
const (
	// KeepOthers adds the token beside the others (multiple_devices).
	KeepOthers Replace = iota
	// ReplaceOthers removes the others (override_allowed).
	ReplaceOthers
	// RefuseIfEnrolled fails with ErrEnrolled when another confirmed token
	// exists (single_device).
	RefuseIfEnrolled
)

// ReplaceFor maps a realm's enrollment_mode to a Replace mode.
func ReplaceFor(enrollmentMode string) Replace {
	switch enrollmentMode {
	case "multiple_devices":
		return KeepOthers
	case "override_allowed":
		return ReplaceOthers
	}
	return RefuseIfEnrolled
}

// Result is the verdict of a code check.
type Result int

// The verdicts of Verify and Confirm.
const (
	Invalid     Result = iota // wrong code (or not a code at all)
	Valid                     // accepted; it will not be accepted again
	Replayed                  // the right code, but already used
	NotEnrolled               // the user has no confirmed token
)

// String names the verdict for logs and reasons.
func (r Result) String() string {
	switch r {
	case Valid:
		return "valid"
	case Replayed:
		return "replayed"
	case NotEnrolled:
		return "not enrolled"
	}
	return "invalid"
}

// match checks code against token t at now with window steps of drift
// (TOTP: either side of now's step; HOTP: look-ahead from the next
// counter), refusing steps at or before the last one accepted. For a valid
// code it returns what to record: the next HOTP counter, or the TOTP step.
func match(t *tokenRecord, secret []byte, code string, window int, now time.Time) (next uint64, last int64, res Result) {
	p := t.params()
	if len(code) != p.Digits {
		return 0, 0, Invalid
	}
	try := func(c uint64) bool {
		want, err := code0(p, secret, c)
		return err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1
	}
	if p.Type == TypeHOTP {
		for i := 0; i <= window; i++ {
			c := t.Counter + uint64(i)
			if try(c) {
				return c + 1, 0, Valid
			}
		}
		// Recently used counters are a replay, not a typo.
		for i := 1; i <= window && uint64(i) <= t.Counter; i++ {
			if try(t.Counter - uint64(i)) {
				return 0, 0, Replayed
			}
		}
		return 0, 0, Invalid
	}
	cur := step(p, now)
	if cur < 0 {
		return 0, 0, Invalid
	}
	// Every step of the window is tried, so the time taken does not tell
	// which one matched. Of several matches (a rare coincidence of codes)
	// the unused one nearest to now wins.
	found, replayed := int64(-1), false
	for s := max(cur-int64(window), 0); s <= cur+int64(window); s++ {
		if !try(uint64(s)) {
			continue
		}
		switch {
		case t.LastStep != 0 && s <= t.LastStep:
			replayed = true
		case found < 0 || abs(s-cur) < abs(found-cur):
			found = s
		}
	}
	switch {
	case found >= 0:
		return 0, found, Valid
	case replayed:
		return 0, 0, Replayed
	}
	return 0, 0, Invalid
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// code0 is code, a variable so tests can count computations.
var code0 = code

// Verify checks a code against the user's confirmed tokens and, when one
// accepts it, records the step or counter in the same transaction, so the
// code (and any earlier one of that token) is never accepted again.
func (r *Repo) Verify(realm, user, code string, window int, now time.Time) (Result, error) {
	if err := checkNames(realm, user); err != nil {
		return Invalid, err
	}
	if window < 0 || window > 10 {
		return Invalid, fmt.Errorf("mfa: window must be 0 to 10, not %d", window)
	}
	c, ok := normalizeCode(code)
	res := NotEnrolled
	err := r.kv.Update(func(tx store.Tx) error {
		res = NotEnrolled
		ts, err := loadTokens(tx, realm, user)
		if err != nil {
			return err
		}
		for _, t := range ts {
			if !t.Confirmed {
				continue
			}
			if res == NotEnrolled {
				res = Invalid
			}
			if !ok {
				continue
			}
			secret, err := r.secret(realm, user, t)
			if err != nil {
				return err
			}
			next, last, got := match(t, secret, c, window, now)
			switch got {
			case Replayed:
				res = Replayed
			case Valid:
				if t.Type == TypeHOTP {
					t.Counter = next
				} else {
					t.LastStep = last
				}
				t.LastUsed = now.UTC()
				res = Valid
				return putToken(tx, realm, user, t)
			}
		}
		return nil
	})
	if err != nil {
		return Invalid, err
	}
	return res, nil
}

// Confirm checks a code from the pending token id (window steps of drift)
// and, when it is right, makes the token count, applying replace to the
// user's other confirmed tokens. The confirming code is recorded as used.
// It returns Invalid for a wrong code (the token stays pending) and
// ErrNoToken when the enrolment is gone (expired, or deleted meanwhile).
func (r *Repo) Confirm(realm, user, id, code string, window int, replace Replace, now time.Time) (Result, error) {
	if err := checkNames(realm, user); err != nil {
		return Invalid, err
	}
	c, ok := normalizeCode(code)
	res := Invalid
	err := r.kv.Update(func(tx store.Tx) error {
		res = Invalid
		ts, err := loadTokens(tx, realm, user)
		if err != nil {
			return err
		}
		var t *tokenRecord
		var others []*tokenRecord
		for _, x := range ts {
			if x.ID == id {
				t = x
			} else if x.Confirmed {
				others = append(others, x)
			}
		}
		if t == nil || t.Confirmed || now.Sub(t.Created) > PendingTTL {
			return ErrNoToken
		}
		if replace == RefuseIfEnrolled && len(others) > 0 {
			return ErrEnrolled
		}
		if !ok {
			return nil
		}
		secret, err := r.secret(realm, user, t)
		if err != nil {
			return err
		}
		next, last, got := match(t, secret, c, window, now)
		if got != Valid {
			return nil
		}
		t.Counter, t.LastStep = next, last
		t.Confirmed, t.LastUsed = true, now.UTC()
		if replace == ReplaceOthers {
			for _, o := range others {
				if err := tx.Delete(bucketOTP, tokenKey(realm, user, o.ID)); err != nil {
					return err
				}
			}
		}
		res = Valid
		return putToken(tx, realm, user, t)
	})
	if err != nil {
		return Invalid, err
	}
	return res, nil
}

// Tokens lists a user's tokens (pending ones included), oldest first.
func (r *Repo) Tokens(realm, user string) ([]Token, error) {
	if err := checkNames(realm, user); err != nil {
		return nil, err
	}
	var out []Token
	err := r.kv.View(func(tx store.Tx) error {
		ts, err := loadTokens(tx, realm, user)
		for _, t := range ts {
			out = append(out, t.public())
		}
		return err
	})
	return out, err
}

// HasToken reports whether the user has a confirmed token.
func (r *Repo) HasToken(realm, user string) (bool, error) {
	ts, err := r.Tokens(realm, user)
	for _, t := range ts {
		if t.Confirmed {
			return true, err
		}
	}
	return false, err
}

// DeleteToken removes one token (ErrNoToken when there is none).
func (r *Repo) DeleteToken(realm, user, id string) error {
	if err := checkNames(realm, user); err != nil {
		return err
	}
	return r.kv.Update(func(tx store.Tx) error {
		k := tokenKey(realm, user, id)
		if tx.Get(bucketOTP, k) == nil {
			return ErrNoToken
		}
		return tx.Delete(bucketOTP, k)
	})
}

// DeleteTokens removes every token of a user and returns how many went.
func (r *Repo) DeleteTokens(realm, user string) (int, error) {
	if err := checkNames(realm, user); err != nil {
		return 0, err
	}
	n := 0
	err := r.kv.Update(func(tx store.Tx) error {
		ts, err := loadTokens(tx, realm, user)
		if err != nil {
			return err
		}
		n = len(ts)
		for _, t := range ts {
			if err := tx.Delete(bucketOTP, tokenKey(realm, user, t.ID)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// DeleteUser removes everything this package keeps for a user (tokens and
// recovery codes), for `authd user delete`.
func (r *Repo) DeleteUser(realm, user string) error {
	if _, err := r.DeleteTokens(realm, user); err != nil {
		return err
	}
	return r.kv.Update(func(tx store.Tx) error {
		return tx.Delete(bucketRecovery, recoveryKey(realm, user))
	})
}
