package dsl_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/engine/users"
	_ "github.com/authd/authd/nodes"
)

func TestMissingUserAttributesReadAsEmpty(t *testing.T) {
	src := `
realm "corp" {}
journey "j" {
  realm = realm.corp
  start = node.who
  node "username" "who" { next = node.opted }
  node "condition" "opted" {
    when     = user.attributes["mfa_opt_out"] == "true"
    outcomes = { true = success, false = failure }
  }
}
`
	cfg, diags := dsl.LoadSources(map[string][]byte{"a.hcl": []byte(src)}, "", dsl.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got := cfg.Program.Journeys["j"].AttributeKeys; fmt.Sprint(got) != "[mfa_opt_out]" {
		t.Fatalf("AttributeKeys = %v", got)
	}
	kv := memstore.New()
	repo := users.NewRepo(kv)
	if err := repo.Create(&users.User{Realm: "corp", Name: "bob"}); err != nil {
		t.Fatal(err)
	}
	if err := repo.Create(&users.User{Realm: "corp", Name: "carol", Attributes: map[string]string{"mfa_opt_out": "true"}}); err != nil {
		t.Fatal(err)
	}
	e := engine.New(engine.Options{KV: kv, Users: repo})
	e.Load(cfg.Program)
	for user, want := range map[string]engine.Outcome{"bob": engine.Failure, "carol": engine.Success, "nobody": engine.Failure} {
		r, err := e.Start(context.Background(), "corp", "j", engine.Request{})
		if err != nil {
			t.Fatal(err)
		}
		v := user
		r, err = e.Resume(context.Background(), r.Session, []engine.Callback{{ID: "username", Value: &v}}, engine.Request{})
		if err != nil || r.Outcome != want {
			t.Errorf("%s: %+v %v, want %s", user, r, err, want)
		}
	}
}
