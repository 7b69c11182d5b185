package nodes_test

import (
	"testing"
	"time"

	"github.com/authd/authd/engine"
)

func TestRetryLimit(t *testing.T) {
	n := build(t, "retry_limit", `limit = 3`)
	e := newEnv()
	want := []engine.Outcome{"retry", "retry", "retry", "reject", "retry", "retry", "retry", "reject"}
	for i, o := range want {
		if got := process(t, n, e.ctx("retry", nil)).Outcome; got != o {
			t.Fatalf("pass %d: %s, want %s", i+1, got, o)
		}
	}
	// Counters are per node.
	if got := process(t, n, e.ctx("other", nil)).Outcome; got != "retry" {
		t.Fatalf("another node's first pass: %s", got)
	}
	if got := outcomeNames(nodeType(t, "retry_limit").Outcomes(nil)); got != "retry,reject" {
		t.Fatalf("outcomes %s", got)
	}
}

func TestRetryLimitSettings(t *testing.T) {
	buildErr(t, "retry_limit", `limit = 0`, "limit")
	buildErr(t, "retry_limit", `limit = -1`, "limit")
	if _, diags := decode(t, "retry_limit", ``); !diags.HasErrors() {
		t.Error("missing limit accepted")
	}
	build(t, "retry_limit", "limit = 1\nincrement_user_lockout = true\n")
}

func TestRetryLimitLockout(t *testing.T) {
	n := build(t, "retry_limit", "limit = 5\nincrement_user_lockout = true\n")
	// Without a lockout policy nothing is recorded, and no store is needed.
	e := newEnv()
	e.session.User = "alice"
	if got := process(t, n, e.ctx("retry", nil)).Outcome; got != "retry" {
		t.Fatalf("no policy: %s", got)
	}

	e = userEnv(t)
	e.realm.Lockout = &engine.Lockout{MaxFailures: 2, Window: time.Hour, Duration: time.Hour}
	e.session.User = "alice"
	if got := process(t, n, e.ctx("retry", nil)).Outcome; got != "retry" {
		t.Fatalf("first failure: %s", got)
	}
	if got := process(t, n, e.ctx("retry", nil)).Outcome; got != "reject" {
		t.Fatalf("locked: %s, want reject before the limit", got)
	}
	if o := checkPassword(t, e, "alice", "correct horse"); o != "locked" {
		t.Fatalf("password check after lockout: %s", o)
	}
	// An unknown user is not revealed: counting goes on as usual.
	e.session.User = "mallory"
	if got := process(t, n, e.ctx("retry2", nil)).Outcome; got != "retry" {
		t.Fatalf("unknown user: %s", got)
	}
}
