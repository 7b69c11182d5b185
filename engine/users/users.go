// Package users keeps the people of each realm in the store: their
// password hashes, groups, contact details, attributes and lockout state.
//
// A wrong password and an unknown user cost the same (issue 3): an
// unknown name is verified against the realm's decoy, a hash in the scheme
// and cost that most of the realm's users have (say $6$ sha512-crypt with
// 5,000 rounds after an import, argon2id for users authd hashed itself),
// so a reply's timing does not tell an attacker which names exist.
// Repo.DecoyProfile shows the choice; decoy.go explains it and its limits
// (a realm of mixed schemes still sets its minority apart).
package users

import (
	"errors"
	"strings"
	"time"
)

// User is one account of a realm. PasswordHash is a PHC/crypt string
// ($argon2id$, $2a$/$2b$/$2y$ bcrypt, $6$ sha512-crypt); it is never logged
// or printed.
type User struct {
	Realm        string            `json:"realm"`
	Name         string            `json:"name"`
	Email        string            `json:"email,omitempty"`
	Phone        string            `json:"phone,omitempty"`
	Groups       []string          `json:"groups,omitempty"`
	Attributes   map[string]string `json:"attributes,omitempty"`
	PasswordHash string            `json:"password_hash,omitempty"`
	// Failures counts failed checks since FirstFailure (lockout window).
	Failures     int       `json:"failures,omitempty"`
	FirstFailure time.Time `json:"first_failure,omitempty"`
	LockedUntil  time.Time `json:"locked_until,omitempty"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
	// PasswordChanged is when the password was last set: by Create or
	// Import with a hash, SetPassword, or an Update that changes the
	// hash. Updated cannot serve, as failed checks move it too. The OAuth
	// provider ends grants and SSO sessions signed in before it. Zero for
	// users stored before it was recorded: no change known, so an upgrade
	// signs nobody out.
	PasswordChanged time.Time `json:"password_changed,omitzero"`
}

// Lockout locks an account after MaxFailures failed checks within Window,
// for Duration. A zero MaxFailures disables it; a zero Window never forgets
// a failure (until a success or an unlock); a zero Duration locks until an
// administrator unlocks (`authd user unlock`), as Active Directory does.
type Lockout struct {
	MaxFailures int
	Window      time.Duration
	Duration    time.Duration
}

// Locked reports whether the account is locked at now.
func (u *User) Locked(now time.Time) bool { return now.Before(u.LockedUntil) }

var (
	// ErrNotFound means no such user in the realm.
	ErrNotFound = errors.New("no such user")
	// ErrExists means the user is already in the realm.
	ErrExists = errors.New("user already exists")
)

// AnsweredName is the user name an answer means: what a person typed,
// white space (Unicode spaces included) trimmed. The credential nodes look
// users up by it, and the per-user rate limits key on it, so " alice" and
// "alice\u00a0" are guesses at alice and draw on alice's budget.
func AnsweredName(s string) string { return strings.TrimSpace(s) }
