package oauth

import (
	"errors"
	"fmt"
	"time"

	"github.com/authd/authd/engine/users"
)

// The subject of authd's tokens is the user name, and a name is free again
// once its user is deleted. A grant therefore stays tied to the user record
// it was issued for: every place that honours a grant for a user (the
// refresh and code grants, userinfo, introspection, an SSO session) asks
// grantUser first, so neither a deleted user's tokens nor a new user who
// took the name inherit anything.

var (
	// errUserReplaced means the user was created after the sign-in the
	// grant comes from: the name belongs to another user now.
	errUserReplaced = errors.New("the user was deleted and created again since the sign-in")
	// errUserLocked means the account is locked (too many failed
	// passwords, or until an administrator unlocks it).
	errUserLocked = errors.New("the user's account is locked")
	// errPasswordChanged means the password was set after the sign-in:
	// a password change is how a user or an administrator ends whatever a
	// leaked password let someone start, so grants and SSO sessions from
	// before it end too.
	errPasswordChanged = errors.New("the user's password changed since the sign-in")
)

// grantUser checks that the user a grant or SSO session names is still the
// one that signed in at authTime: errNoUser when the user is gone,
// errUserReplaced when the record is newer than the sign-in,
// errPasswordChanged when the password was set after it, and, with locks,
// errUserLocked when the account is locked at now. Another error is the
// store's, and proves nothing either way.
//
// Created is the only trace of a delete and re-create the user store keeps
// (Updated moves with every failed password too), so it is compared with
// the grant's auth_time; PasswordChanged, for the same reason not Updated,
// likewise. auth_time has whole seconds, so both are truncated alike: a
// user created, or whose password was set, the same second it signed in
// keeps its grants, and a re-creation or password change within the
// second of the sign-in goes unseen. A user stored before PasswordChanged
// was recorded has it zero: no change known, so an upgrade ends no grant.
//
// Live access tokens do not ask about locks (userinfo and introspection
// pass locks=false): anyone who knows a user name can lock an account by
// guessing, and a lock should stop new tokens, not cut every application
// off mid-request; the grant ends at its next refresh.
func (p *Provider) grantUser(realm, name string, authTime, now time.Time, locks bool) (*users.User, error) {
	u, err := p.users(realm, name)
	if errors.Is(err, users.ErrNotFound) {
		return nil, errNoUser
	}
	if err != nil {
		return nil, fmt.Errorf("loading the user of a grant: %w", err)
	}
	if u.Created.Truncate(time.Second).After(authTime) {
		return nil, errUserReplaced
	}
	if u.PasswordChanged.Truncate(time.Second).After(authTime) {
		return nil, errPasswordChanged
	}
	if locks && u.Locked(now) {
		return nil, errUserLocked
	}
	return u, nil
}

// userGone reports whether err from grantUser says the grant's user is not
// (or not now) the one it was issued to, as opposed to a store fault.
func userGone(err error) bool {
	return errors.Is(err, errNoUser) || errors.Is(err, errUserReplaced) || errors.Is(err, errUserLocked) || errors.Is(err, errPasswordChanged)
}

// sessionUserGone is grantUser for a token's session without lock checks,
// for userinfo and introspection: false for a token without a user (client
// credentials) and on a store fault, which must not turn a good token
// inactive.
func (p *Provider) sessionUserGone(s *Session, now time.Time) bool {
	if s == nil || s.User == "" {
		return false
	}
	_, err := p.grantUser(s.Realm, s.User, s.AuthTime, now, false)
	if err != nil && !userGone(err) {
		p.log.Warn("checking the user of a token", "realm", s.Realm, "err", err)
	}
	return userGone(err)
}

// ssoUserOK reports whether an SSO session's user may still be signed in
// by it: not deleted, re-created, locked or given a new password since the
// session's sign-in. A
// session that fails runs the journey again, which answers for the user
// as the store has them now; so does one the store cannot check. A
// session from before a password change is also deleted (key is its
// store key): it is over for good, not only until the user signs in again.
func (p *Provider) ssoUserOK(s *ssoSession, key string, now time.Time) bool {
	_, err := p.grantUser(s.Realm, s.User, s.AuthTime, now, true)
	if err != nil && !userGone(err) {
		p.log.Warn("checking the user of an SSO session", "realm", s.Realm, "err", err)
	}
	if errors.Is(err, errPasswordChanged) && key != "" {
		if derr := deleteKey(p.kv, bucketSSO, key); derr != nil {
			p.log.Error("ending an SSO session from before a password change", "err", derr)
		}
	}
	return err == nil
}
