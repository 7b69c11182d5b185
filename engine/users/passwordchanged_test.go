package users

import (
	"testing"
	"time"

	"github.com/authd/authd/engine/store/memstore"
	"golang.org/x/crypto/bcrypt"
)

// PasswordChanged records when the password was last set, by every way of
// setting one, and by nothing else: the OAuth provider ends grants signed
// in before it, so a failed login (which moves Updated) must not move it.
func TestPasswordChangedRecorded(t *testing.T) {
	r := NewRepo(memstore.New())
	h, err := bcrypt.GenerateFromPassword([]byte("first-password-1"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	created := t0
	if err := r.Create(&User{Realm: "corp", Name: "alice", PasswordHash: string(h), Created: created}); err != nil {
		t.Fatal(err)
	}
	if err := r.Create(&User{Realm: "corp", Name: "nopw", Created: created}); err != nil {
		t.Fatal(err)
	}
	get := func(name string) *User {
		t.Helper()
		u, err := r.Get("corp", name)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	if got := get("alice").PasswordChanged; !got.Equal(created) {
		t.Errorf("Create with a password: PasswordChanged %v, want Created %v", got, created)
	}
	if got := get("nopw").PasswordChanged; !got.IsZero() {
		t.Errorf("Create without a password: PasswordChanged %v, want zero", got)
	}

	// A failed check moves Updated, not PasswordChanged.
	if res, err := r.CheckPassword("corp", "alice", "wrong-password", &Lockout{MaxFailures: 5}, t0.Add(time.Hour)); err != nil || res == PasswordOK {
		t.Fatalf("wrong password: %v, %v", res, err)
	}
	if got := get("alice").PasswordChanged; !got.Equal(created) {
		t.Errorf("a failed login moved PasswordChanged to %v", got)
	}

	changed := t0.Add(2 * time.Hour)
	if err := r.SetPassword("corp", "alice", "second-password-2", changed); err != nil {
		t.Fatal(err)
	}
	if got := get("alice").PasswordChanged; !got.Equal(changed) {
		t.Errorf("SetPassword: PasswordChanged %v, want %v", got, changed)
	}

	// An Update that sets the hash itself is a password change too.
	if err := r.Update("corp", "nopw", func(u *User) error {
		u.PasswordHash = string(h)
		u.Updated = changed
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := get("nopw").PasswordChanged; !got.Equal(changed) {
		t.Errorf("Update setting a hash: PasswordChanged %v, want %v", got, changed)
	}
	// One that does not, is not.
	if err := r.Update("corp", "nopw", func(u *User) error { u.Email = "n@example.com"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := get("nopw").PasswordChanged; !got.Equal(changed) {
		t.Errorf("an Update of the e-mail moved PasswordChanged to %v", got)
	}

	imported := t0.Add(3 * time.Hour)
	if _, err := r.Import("corp", []*User{{Name: "bob", PasswordHash: string(h), PasswordChanged: t0}, {Name: "carol"}}, imported); err != nil {
		t.Fatal(err)
	}
	if got := get("bob").PasswordChanged; !got.Equal(imported) {
		t.Errorf("Import with a hash: PasswordChanged %v, want %v", got, imported)
	}
	if got := get("carol").PasswordChanged; !got.IsZero() {
		t.Errorf("Import without a hash: PasswordChanged %v, want zero", got)
	}
}
