package nodes_test

import (
	"slices"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestSetState(t *testing.T) {
	src := `values = {
  greeting = "hello ${user.name}"
  "level"  = 2
  tags     = ["a", "b"]
  gone     = null
}`
	nt := nodeType(t, "set_state")
	cfg := mustDecode(t, "set_state", src)
	if got := nt.StateKeys(cfg); !slices.Equal(got, []string{"greeting", "level", "tags", "gone"}) {
		t.Fatalf("StateKeys = %v", got)
	}
	n, err := nt.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv("greeting", "level", "tags", "gone")
	e.session.User = "alice"
	e.session.State = map[string]cty.Value{"gone": cty.StringVal("old")}
	wantOutcome(t, process(t, n, e.ctx("s", nil)), "next")
	st := e.session.State
	if !st["greeting"].RawEquals(cty.StringVal("hello alice")) || !st["level"].RawEquals(cty.NumberIntVal(2)) {
		t.Errorf("state %#v", st)
	}
	if st["tags"].LengthInt() != 2 {
		t.Errorf("tags %#v", st["tags"])
	}
	if _, ok := st["gone"]; ok {
		t.Error("a null value did not remove the key")
	}
}

func TestSetStateIsAtomic(t *testing.T) {
	n := build(t, "set_state", "values = {\n  a = 1\n  b = nosuch.x\n}\n")
	e := newEnv()
	if _, err := n.Process(t.Context(), e.ctx("s", nil)); err == nil {
		t.Fatal("want a fault for an undefined variable")
	}
	if len(e.session.State) != 0 {
		t.Fatalf("state written despite the fault: %v", e.session.State)
	}
}

func TestSetStateSettings(t *testing.T) {
	buildErr(t, "set_state", `values = state.x`, "values")
	buildErr(t, "set_state", `values = {}`, "values")
	buildErr(t, "set_state", `values = null`, "values")
	buildErr(t, "set_state", ``, "values")
	buildErr(t, "set_state", "values = {\n  (state.k) = 1\n}\n", "values")
	buildErr(t, "set_state", "values = {\n  \"a-b\" = 1\n}\n", "values")
	buildErr(t, "set_state", "values = {\n  a = 1\n  \"a\" = 2\n}\n", "values")
	if got := nodeType(t, "set_state").StateKeys(mustDecode(t, "set_state", `values = state.x`)); len(got) != 0 {
		t.Errorf("StateKeys of invalid values = %v", got)
	}
}
