package nodes_test

import (
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/engine/users"
)

// userEnv is a test env with a user store holding alice (password
// "correct horse").
func userEnv(t *testing.T) *env {
	t.Helper()
	repo := users.NewRepo(memstore.New())
	if err := repo.Create(&users.User{Realm: "corp", Name: "alice", Created: testNow, Updated: testNow}); err != nil {
		if strings.Contains(err.Error(), "not implemented") {
			t.Skip("users.Repo is not implemented yet")
		}
		t.Fatal(err)
	}
	if err := repo.SetPassword("corp", "alice", "correct horse", testNow); err != nil {
		t.Fatal(err)
	}
	e := newEnv()
	e.svc.Users = repo
	return e
}

func checkPassword(t *testing.T, e *env, user, pw string) engine.Outcome {
	t.Helper()
	return checkPasswordResult(t, e, user, pw).Outcome
}

func checkPasswordResult(t *testing.T, e *env, user, pw string) engine.Result {
	t.Helper()
	n := build(t, "password_check", ``)
	e.session.User = user
	nc := e.ctx("check", nil)
	nc.SetTransient("password", pw)
	res := process(t, n, nc)
	if nc.Transient("password") != "" {
		t.Error("password_check left the password in the transient values")
	}
	return res
}

func TestPasswordCheck(t *testing.T) {
	e := userEnv(t)
	if o := checkPassword(t, e, "alice", "correct horse"); o != "success" {
		t.Errorf("right password: %s", o)
	}
	if o := checkPassword(t, e, "alice", "wrong"); o != "failure" {
		t.Errorf("wrong password: %s", o)
	}
	if o := checkPassword(t, e, "mallory", "correct horse"); o != "failure" {
		t.Errorf("unknown user: %s", o)
	}
	if o := checkPassword(t, e, "alice", ""); o != "failure" {
		t.Errorf("no password: %s", o)
	}
}

func TestPasswordCheckLockout(t *testing.T) {
	e := userEnv(t)
	e.realm.Lockout = &engine.Lockout{MaxFailures: 2, Window: time.Hour, Duration: time.Hour}
	// The audit log tells the failure that locked the account from the
	// attempts refused because it is locked.
	for i, want := range []engine.Result{
		{Outcome: "failure", Reason: "wrong password or unknown user"},
		{Outcome: "locked", Reason: "wrong password; account locked"},
		{Outcome: "locked", Reason: "account locked"},
	} {
		pw := "wrong"
		if i == 2 {
			pw = "correct horse" // not even checked while locked
		}
		if got := checkPasswordResult(t, e, "alice", pw); got.Outcome != want.Outcome || got.Reason != want.Reason {
			t.Errorf("attempt %d with max_failures = 2: %s (%q), want %s (%q)", i+1, got.Outcome, got.Reason, want.Outcome, want.Reason)
		}
	}
}

func TestPasswordCheckWithoutStoreOrUser(t *testing.T) {
	n := build(t, "password_check", ``)
	e := newEnv()
	if o := process(t, n, e.ctx("check", nil)).Outcome; o != "failure" {
		t.Errorf("no user: %s, want failure", o)
	}
	e.session.User = "alice"
	if _, err := n.Process(t.Context(), e.ctx("check", nil)); err == nil {
		t.Error("no user store: want a fault")
	}
	if _, diags := decode(t, "password_check", `limit = 3`); !diags.HasErrors() {
		t.Error("unknown setting accepted")
	}
}
