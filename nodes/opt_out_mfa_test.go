package nodes_test

import (
	"testing"

	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/engine/users"
)

func TestOptOutMFASettings(t *testing.T) {
	wantOutcomes(t, "opt_out_mfa", ``, "next")
}

func TestOptOutMFA(t *testing.T) {
	n := build(t, "opt_out_mfa", ``)
	e := newEnv()
	e.svc.KV = memstore.New()
	e.svc.Users = users.NewRepo(e.svc.KV)
	e.svc.Users.Create(&users.User{Realm: "corp", Name: "alice", Attributes: map[string]string{"dept": "ops"}})
	// No user known, or an unknown one: nothing to mark, the journey moves on.
	wantOutcome(t, process(t, n, e.ctx("o", nil)), "next")
	e.session.User = "nobody"
	wantOutcome(t, process(t, n, e.ctx("o", nil)), "next")
	e.session.User = "alice"
	wantOutcome(t, process(t, n, e.ctx("o", nil)), "next")
	u, _ := e.svc.Users.Get("corp", "alice")
	if u.Attributes["mfa_opt_out"] != "true" || u.Attributes["dept"] != "ops" {
		t.Errorf("attributes %v", u.Attributes)
	}
}
