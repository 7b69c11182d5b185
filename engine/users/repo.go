package users

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/authd/authd/engine/store"
)

// bucket holds every user of every realm, keyed realm + "\x00" + name: NUL
// cannot occur in either, so a realm's users are one prefix walk, sorted by
// name.
const bucket = "users"

func key(realm, name string) []byte { return []byte(realm + "\x00" + name) }

// Repo stores users on a store.KV, one bucket keyed by realm and name.
type Repo struct {
	kv     store.KV
	decoys decoys // what unknown users are checked against, per realm (decoy.go)
}

// NewRepo returns a repository over kv.
func NewRepo(kv store.KV) *Repo { return &Repo{kv: kv} }

// CheckResult is the verdict of a password check.
type CheckResult int

// The verdicts of CheckPassword.
const (
	PasswordOK    CheckResult = iota // the password matches
	PasswordWrong                    // wrong password, or no such user
	AccountLocked                    // locked out already: a locked account's password is not checked
	LockedNow                        // a wrong password, and the failure that locked the account
)

// String names the verdict for logs and audit lines.
func (c CheckResult) String() string {
	switch c {
	case PasswordOK:
		return "ok"
	case PasswordWrong:
		return "wrong"
	case AccountLocked:
		return "locked"
	case LockedNow:
		return "wrong, now locked"
	}
	return fmt.Sprintf("CheckResult(%d)", int(c))
}

func notFound(realm, name string) error {
	return fmt.Errorf("user %q in realm %q: %w", name, realm, ErrNotFound)
}

func load(tx store.Tx, realm, name string) (*User, error) {
	b := tx.Get(bucket, key(realm, name))
	if b == nil {
		return nil, nil
	}
	u := new(User)
	if err := json.Unmarshal(b, u); err != nil {
		// json's message could quote the record; say where, not what.
		return nil, fmt.Errorf("the stored record of user %q in realm %q is damaged", name, realm)
	}
	return u, nil
}

func save(tx store.Tx, u *User) error {
	b, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("encoding user %q: %w", u.Name, err)
	}
	return tx.Put(bucket, key(u.Realm, u.Name), b)
}

func checkNames(realm, name string) error {
	if err := ValidateRealm(realm); err != nil {
		return err
	}
	return ValidateName(name)
}

// Get returns a copy of the user, or ErrNotFound.
func (r *Repo) Get(realm, name string) (*User, error) {
	if err := checkNames(realm, name); err != nil {
		return nil, err
	}
	var u *User
	err := r.kv.View(func(tx store.Tx) (err error) {
		u, err = load(tx, realm, name)
		return err
	})
	if err == nil && u == nil {
		err = notFound(realm, name)
	}
	if err != nil {
		return nil, err
	}
	return u, nil
}

// clone copies u deeply, so the caller's value is never stored or changed.
func clone(u *User) *User {
	c := *u
	c.Groups = slices.Clone(u.Groups)
	c.Attributes = maps.Clone(u.Attributes)
	return &c
}

// Create adds a user, or fails with ErrExists. Zero Created and Updated
// times are set to now, and a zero PasswordChanged to Created when u has a
// password; u itself is not changed.
func (r *Repo) Create(u *User) error {
	if u == nil {
		return errors.New("users: Create(nil)")
	}
	c := clone(u)
	if err := validate(c); err != nil {
		return err
	}
	now := time.Now().UTC()
	if c.Created.IsZero() {
		c.Created = now
	}
	if c.Updated.IsZero() {
		c.Updated = c.Created
	}
	if c.PasswordHash != "" && c.PasswordChanged.IsZero() {
		c.PasswordChanged = c.Created
	}
	err := r.kv.Update(func(tx store.Tx) error {
		if tx.Get(bucket, key(c.Realm, c.Name)) != nil {
			return fmt.Errorf("user %q in realm %q: %w", c.Name, c.Realm, ErrExists)
		}
		return save(tx, c)
	})
	if err == nil {
		r.noteHashes(c.Realm, nil, []string{c.PasswordHash})
	}
	return err
}

// Update applies fn to the stored user in one transaction. fn runs inside
// the store's write transaction, so it must be quick (no hashing: see
// SetPassword); its error aborts the update unchanged. fn may not rename
// the user, and Updated is set to now unless fn set it. When fn changes the
// password hash without setting PasswordChanged, it is set to Updated, so
// no way of setting a password skips the record of it.
func (r *Repo) Update(realm, name string, fn func(*User) error) error {
	if err := checkNames(realm, name); err != nil {
		return err
	}
	var oldHash, newHash string
	err := r.kv.Update(func(tx store.Tx) error {
		u, err := load(tx, realm, name)
		if err != nil {
			return err
		}
		if u == nil {
			return notFound(realm, name)
		}
		oldHash = u.PasswordHash
		before, beforePW := u.Updated, u.PasswordChanged
		if err := fn(u); err != nil {
			return err
		}
		if u.Realm != realm || u.Name != name {
			return fmt.Errorf("user %q in realm %q: Update cannot rename a user (delete and create instead)", name, realm)
		}
		if err := validate(u); err != nil {
			return err
		}
		if u.Updated.Equal(before) {
			u.Updated = time.Now().UTC()
		}
		if u.PasswordHash != oldHash && u.PasswordChanged.Equal(beforePW) {
			u.PasswordChanged = u.Updated
		}
		newHash = u.PasswordHash
		return save(tx, u)
	})
	if err == nil && oldHash != newHash {
		r.noteHashes(realm, []string{oldHash}, []string{newHash})
	}
	return err
}

// Delete removes a user, or fails with ErrNotFound.
func (r *Repo) Delete(realm, name string) error {
	if err := checkNames(realm, name); err != nil {
		return err
	}
	var oldHash string
	err := r.kv.Update(func(tx store.Tx) error {
		b := tx.Get(bucket, key(realm, name))
		if b == nil {
			return notFound(realm, name)
		}
		var rec struct {
			PasswordHash string `json:"password_hash"`
		}
		_ = json.Unmarshal(b, &rec) // a damaged record can still be deleted
		oldHash = rec.PasswordHash
		return tx.Delete(bucket, key(realm, name))
	})
	if err == nil {
		r.noteHashes(realm, []string{oldHash}, nil)
	}
	return err
}

// List returns the realm's users sorted by name (byte order).
func (r *Repo) List(realm string) ([]*User, error) {
	if err := ValidateRealm(realm); err != nil {
		return nil, err
	}
	var out []*User
	err := r.kv.View(func(tx store.Tx) error {
		return tx.ForEach(bucket, []byte(realm+"\x00"), func(k, v []byte) error {
			u := new(User)
			if err := json.Unmarshal(v, u); err != nil {
				return fmt.Errorf("the stored record %q of realm %q is damaged", k[len(realm)+1:], realm)
			}
			out = append(out, u)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetPassword stores an argon2id hash of password and records now as
// PasswordChanged (grants signed in before it end). The hash is computed
// before the write transaction, which stays short. The lockout state is
// left alone: unlocking is a separate, audited decision (Unlock).
func (r *Repo) SetPassword(realm, name, password string, now time.Time) error {
	if err := checkNames(realm, name); err != nil {
		return err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	return r.Update(realm, name, func(u *User) error {
		u.PasswordHash = hash
		u.Updated, u.PasswordChanged = now, now
		return nil
	})
}

// Unlock clears the failure count and any lock.
func (r *Repo) Unlock(realm, name string) error {
	return r.Update(realm, name, func(u *User) error {
		u.Failures, u.FirstFailure, u.LockedUntil = 0, time.Time{}, time.Time{}
		return nil
	})
}

// maxCheckTries bounds how often CheckPassword starts over when the hash
// changed between its verification and its write.
const maxCheckTries = 3

// CheckPassword verifies password in constant time and applies the lockout
// policy (nil: none). An unknown user costs the same as a wrong password:
// the same verification (against the realm's decoy hash, of the scheme and
// cost most of its users have: see decoy.go) and, with a policy, the same
// write transaction. A locked account returns AccountLocked, and only after
// the same work too: its password is verified (the verdict ignores the
// result, so a guess learns nothing and does not extend the lock) and, with
// a policy, the same write transaction runs. Returning at once would answer
// in a millisecond where an unknown name takes a full hash, and since
// anyone can lock an account by failing on purpose, that would tell which
// names exist. The failure that reaches the limit returns LockedNow, so the
// audit log tells the attempt that locked an account from those it then
// refused.
//
// The hash is verified outside the write transaction, so slow hashing never
// holds the store's single writer; the counters are then updated in one
// Update that re-reads the user.
func (r *Repo) CheckPassword(realm, name, password string, policy *Lockout, now time.Time) (CheckResult, error) {
	if err := ValidateRealm(realm); err != nil {
		return PasswordWrong, err
	}
	nameOK := ValidateName(name) == nil // a malformed name is just an unknown user
	for try := 0; try < maxCheckTries; try++ {
		var u *User
		if nameOK {
			var err error
			u, err = r.get(realm, name)
			if err != nil {
				return PasswordWrong, err
			}
		}
		// A locked account is still verified below: see the doc comment.
		locked := u != nil && u.Locked(now)
		var hash string
		if u != nil && u.PasswordHash != "" {
			hash = u.PasswordHash
		} else {
			// No such user (or no password): the realm's decoy, of the
			// scheme and cost its users have, so both cost the same.
			var err error
			if hash, err = r.decoy(realm); err != nil {
				return PasswordWrong, err
			}
		}
		ok, verr := VerifyPassword(hash, password)
		ok = ok && verr == nil && u != nil && u.PasswordHash != ""
		if verr != nil {
			verr = fmt.Errorf("user %q in realm %q: the stored password hash is unusable: %w", name, realm, verr)
		}
		enforcing := policy != nil && policy.MaxFailures > 0
		if locked && !enforcing {
			// A wrong password without a policy writes nothing either.
			return AccountLocked, nil
		}
		if !locked && !enforcing && (!ok || u.Failures == 0 && u.FirstFailure.IsZero() && u.LockedUntil.IsZero()) {
			if ok {
				return PasswordOK, nil
			}
			return PasswordWrong, verr
		}
		if !nameOK {
			_ = r.kv.Update(func(store.Tx) error { return nil }) // the same commit as a known user
			return PasswordWrong, nil
		}

		result, stale := PasswordWrong, false
		err := r.kv.Update(func(tx store.Tx) error {
			result, stale = PasswordWrong, false
			cur, err := load(tx, realm, name)
			switch {
			case err != nil:
				return err
			case cur == nil || u == nil:
				return nil // unknown when verified (or deleted since): nothing to count
			case cur.PasswordHash != u.PasswordHash:
				stale = true // changed since the verification: check again
				return nil
			case cur.Locked(now):
				// Still locked, or a concurrent failure locked it: refused
				// whatever ok says, and the lock is not extended.
				result = AccountLocked
				return nil
			case ok:
				if cur.Failures == 0 && cur.FirstFailure.IsZero() && cur.LockedUntil.IsZero() {
					result = PasswordOK
					return nil
				}
				cur.Failures, cur.FirstFailure, cur.LockedUntil = 0, time.Time{}, time.Time{}
				result = PasswordOK
				return save(tx, cur)
			default:
				if applyFailure(cur, policy, now) {
					result = LockedNow
				}
				return save(tx, cur)
			}
		})
		if err != nil {
			return PasswordWrong, err
		}
		if result == AccountLocked {
			return AccountLocked, nil // as before: an unusable hash is reported once unlocked
		}
		if !stale {
			return result, verr
		}
	}
	return PasswordWrong, fmt.Errorf("user %q in realm %q: the password kept changing during the check", name, realm)
}

func (r *Repo) get(realm, name string) (*User, error) {
	var u *User
	err := r.kv.View(func(tx store.Tx) (err error) {
		u, err = load(tx, realm, name)
		return err
	})
	return u, err
}

// RecordFailure counts a failed factor other than the password (a wrong
// code) toward the lockout policy and reports whether the account is now
// locked.
func (r *Repo) RecordFailure(realm, name string, policy *Lockout, now time.Time) (bool, error) {
	if err := checkNames(realm, name); err != nil {
		return false, err
	}
	locked := false
	err := r.kv.Update(func(tx store.Tx) error {
		u, err := load(tx, realm, name)
		if err != nil {
			return err
		}
		if u == nil {
			return notFound(realm, name)
		}
		if locked = u.Locked(now); locked {
			return nil // a locked account is not locked longer: that would let anyone extend it
		}
		if policy == nil || policy.MaxFailures <= 0 {
			return nil
		}
		locked = applyFailure(u, policy, now)
		return save(tx, u)
	})
	return locked, err
}

// lockedForever is LockedUntil for a policy without a Duration.
var lockedForever = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// applyFailure counts one failure against policy and locks the account
// when it reaches MaxFailures, reporting whether it did. Failures older
// than Window (0: no window) no longer count. A Duration of 0 or less locks
// until an administrator unlocks, as Active Directory's lockout does. The
// count restarts after a lock, so an expired lock gives a full allowance.
func applyFailure(u *User, p *Lockout, now time.Time) bool {
	if p == nil || p.MaxFailures <= 0 {
		return false
	}
	if u.Failures > 0 && p.Window > 0 && !now.Before(u.FirstFailure.Add(p.Window)) {
		u.Failures = 0
	}
	if u.Failures == 0 {
		u.FirstFailure = now
	}
	u.Failures++
	if u.Failures < p.MaxFailures {
		return false
	}
	u.Failures, u.FirstFailure = 0, time.Time{}
	if p.Duration > 0 {
		u.LockedUntil = now.Add(p.Duration)
	} else {
		u.LockedUntil = lockedForever
	}
	return true
}
