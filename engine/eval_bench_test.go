package engine_test

import (
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/engine/users"
)

func parseExpr(t testing.TB, src string) hcl.Expression {
	t.Helper()
	e, diags := hclsyntax.ParseExpression([]byte(src), "t.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return e
}

// evalContexts returns a maker of Contexts of a step of bob's session,
// whose user record (groups, attributes) is in the store.
func evalContexts(t testing.TB) func() *engine.Context {
	t.Helper()
	repo := users.NewRepo(memstore.New())
	if err := repo.Create(&users.User{Realm: "corp", Name: "bob", Email: "bob@example.com", Groups: []string{"vpn", "admins"}, Attributes: map[string]string{"dept": "ops"}}); err != nil {
		t.Fatal(err)
	}
	svc := &engine.Services{Users: repo}
	j := &engine.Journey{Name: "j", Realm: "corp", StateKeys: []string{"k", "unset"}, AttributeKeys: []string{"dept", "site"}}
	return func() *engine.Context {
		s := &engine.Session{ID: "s", Realm: "corp", Journey: "j", User: "bob", State: map[string]cty.Value{"k": cty.StringVal("v")}}
		req := &engine.Request{Protocol: "radius", ClientIP: "192.0.2.7", RADIUS: &engine.RADIUSInfo{NASIdentifier: "fw1"}}
		return engine.NewContext(s, j, &engine.Realm{Name: "corp"}, &engine.CompiledNode{Name: "n"}, req, svc, time.Date(2026, 3, 2, 8, 30, 0, 0, time.UTC), nil)
	}
}

// TestEvalBuildsWhatItReads: Eval gives the same values as EvalContext
// whichever variables the expression reads, and follows SetUser and
// SetState within one step.
func TestEvalBuildsWhatItReads(t *testing.T) {
	newContext := evalContexts(t)
	for _, src := range []string{
		`user.name == "bob"`,
		`user["name"]`,
		`"${user.name}:${user.email}"`,
		`contains(user.groups, "vpn") && user.name == "bob"`,
		`user.name == "bob" && contains(user.groups, "admins")`,
		`user.attributes["site"]`,
		`jsonencode(user)`,
		`request.radius.nas_identifier`,
		`state.k == "v" && state.unset == null`,
		`now`,
		`upper("x")`,
	} {
		nc := newContext()
		want, diags := parseExpr(t, src).Value(nc.EvalContext())
		if diags.HasErrors() {
			t.Fatalf("%s: %s", src, diags)
		}
		got, err := newContext().Eval(parseExpr(t, src))
		if err != nil || !got.RawEquals(want) {
			t.Errorf("%s: Eval = %#v, %v; EvalContext gives %#v", src, got, err, want)
		}
	}

	nc := newContext()
	if v, err := nc.Eval(parseExpr(t, `contains(user.groups, "vpn")`)); err != nil || v.True() != true {
		t.Fatalf("groups: %#v %v", v, err)
	}
	nc.SetUser("eve") // no such user: no groups, and the name follows
	if v, err := nc.Eval(parseExpr(t, `"${user.name}/${length(user.groups)}"`)); err != nil || v.AsString() != "eve/0" {
		t.Fatalf("after SetUser: %#v %v", v, err)
	}
	if _, err := nc.Eval(parseExpr(t, `state.k`)); err != nil {
		t.Fatal(err)
	}
	nc.SetState("k", cty.StringVal("w"))
	if v, err := nc.Eval(parseExpr(t, `state.k`)); err != nil || v.AsString() != "w" {
		t.Fatalf("after SetState: %#v %v", v, err)
	}
	nc.DeleteState("k")
	if v, err := nc.Eval(parseExpr(t, `state.k`)); err != nil || !v.IsNull() {
		t.Fatalf("after DeleteState: %#v %v", v, err)
	}
	if _, err := nc.Eval(parseExpr(t, `nosuch.x`)); err == nil {
		t.Fatal("an unknown variable evaluated")
	}
}

// BenchmarkEval: a condition's evaluation in one step, by what it reads.
func BenchmarkEval(b *testing.B) {
	for _, bc := range []struct{ name, src string }{
		{"user.name", `user.name == "bob"`},
		{"user.groups", `contains(user.groups, "vpn")`},
		{"request", `request.radius.nas_identifier == "fw1"`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			newContext := evalContexts(b)
			expr := parseExpr(b, bc.src)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := newContext().Eval(expr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
