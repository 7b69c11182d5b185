package users

import (
	"errors"
	"time"

	"github.com/authd/authd/engine/store"
)

// errTodo marks the skeleton until the repository lands.
var errTodo = errors.New("users: not implemented yet")

// Repo stores users on a store.KV, one bucket keyed by realm and name.
type Repo struct {
	kv store.KV
}

// NewRepo returns a repository over kv.
func NewRepo(kv store.KV) *Repo { return &Repo{kv: kv} }

// CheckResult is the verdict of a password check.
type CheckResult int

// The verdicts of CheckPassword.
const (
	PasswordOK    CheckResult = iota // the password matches
	PasswordWrong                    // wrong password, or no such user
	AccountLocked                    // locked out; the password was not checked
)

// Get returns a copy of the user, or ErrNotFound.
func (r *Repo) Get(realm, name string) (*User, error) { return nil, errTodo }

// Create adds a user, or fails with ErrExists.
func (r *Repo) Create(u *User) error { return errTodo }

// Update applies fn to the stored user in one transaction.
func (r *Repo) Update(realm, name string, fn func(*User) error) error { return errTodo }

// Delete removes a user, or fails with ErrNotFound.
func (r *Repo) Delete(realm, name string) error { return errTodo }

// List returns the realm's users sorted by name.
func (r *Repo) List(realm string) ([]*User, error) { return nil, errTodo }

// SetPassword stores an argon2id hash of password.
func (r *Repo) SetPassword(realm, name, password string, now time.Time) error { return errTodo }

// Unlock clears the failure count and any lock.
func (r *Repo) Unlock(realm, name string) error { return errTodo }

// CheckPassword verifies password in constant time and applies the lockout
// policy (nil: none). An unknown user costs the same as a wrong password.
func (r *Repo) CheckPassword(realm, name, password string, policy *Lockout, now time.Time) (CheckResult, error) {
	return PasswordWrong, errTodo
}

// RecordFailure counts a failed factor other than the password (a wrong
// code) toward the lockout policy and reports whether the account is now
// locked.
func (r *Repo) RecordFailure(realm, name string, policy *Lockout, now time.Time) (bool, error) {
	return false, errTodo
}
