package nodes_test

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/authd/authd/engine"
)

func TestCondition(t *testing.T) {
	cases := []struct {
		when string
		want engine.Outcome
	}{
		{`true`, "true"},
		{`request.protocol == "radius"`, "false"},
		{`request.protocol == "api"`, "true"},
		{`user.name == "alice"`, "true"},
		{`state.level > 2`, "true"},
		{`state.flag`, "false"},
		{`contains(["a", "b"], lower("B"))`, "true"},
	}
	for _, c := range cases {
		n := build(t, "condition", "when = "+c.when)
		e := newEnv("level", "flag", "unset")
		e.session.User = "alice"
		e.session.State = map[string]cty.Value{"level": cty.NumberIntVal(3), "flag": cty.False}
		wantOutcome(t, process(t, n, e.ctx("c", nil)), c.want)
	}
}

func TestConditionFaults(t *testing.T) {
	for when, msg := range map[string]string{
		`state.unset`:      "null",
		`state.name`:       "bool",
		`user.attributes`:  "bool",
		`state.nosuch.key`: "",
	} {
		n := build(t, "condition", "when = "+when)
		e := newEnv("unset", "name")
		e.session.State = map[string]cty.Value{"name": cty.StringVal("x")}
		_, err := n.Process(t.Context(), e.ctx("c", nil))
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("when = %s: error %v, want one mentioning %q", when, err, msg)
		}
	}
}

func TestConditionSettings(t *testing.T) {
	buildErr(t, "condition", `when = "yes"`, "when")
	buildErr(t, "condition", `when = null`, "when")
	// gohcl leaves a missing expression attribute as null; New reports it.
	buildErr(t, "condition", ``, "when")
}
