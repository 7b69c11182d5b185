package scenario

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/authd/authd/engine"
	rad "github.com/authd/authd/protocols/radius"
)

// checkExpect compares the end of the journey with the expect block.
func (r *run) checkExpect() {
	ex := r.sc.Expect
	if ex == nil {
		return
	}
	res := r.res
	if ex.Outcome != "" && ex.Outcome != res.Outcome {
		f := r.fail(ex.ranges["outcome"], "outcome: want %s, got %s%s", ex.Outcome, res.Outcome, reasonNote(res.Reason))
		if !ex.HasPath {
			f.Detail = []string{"path: " + pathText(res.Path)}
		}
	}
	if ex.HasPath && !slicesEqual(ex.Path, res.Path) {
		f := r.fail(ex.ranges["path"], "path: %s", partingText(ex.Path, res.Path))
		f.Detail = PathDiff(ex.Path, res.Path)
	}
	if ex.User != nil && *ex.User != res.User {
		r.fail(ex.ranges["user"], "user: want %q, got %q", *ex.User, res.User)
	}
	if ex.Reason != "" && !strings.Contains(res.Reason, ex.Reason) {
		r.fail(ex.ranges["reason"], "reason: want it to contain %q, got %q", ex.Reason, res.Reason)
	}
	if ex.Pushes != nil {
		if n := r.phones.Sent(); n != *ex.Pushes {
			r.fail(ex.ranges["pushes"], "pushes: want %d sent, got %d", *ex.Pushes, n)
		}
	}
	if ex.State != nil {
		r.checkState(ex)
	}
	if ex.RADIUSAttributes != nil {
		r.checkRADIUSAttributes(ex)
	}
	if ex.Claims != nil {
		r.checkClaims(ex)
	}
}

func reasonNote(reason string) string {
	if reason == "" {
		return ""
	}
	return " (" + reason + ")"
}

func (r *run) checkState(ex *Expect) {
	_, _, _, s := r.trace.snapshot()
	var state map[string]cty.Value
	if s != nil {
		state = s.State
	}
	for _, k := range sortedKeys(ex.State) {
		want := ex.State[k]
		got, ok := state[k]
		switch {
		case !ok && want.IsNull():
		case !ok:
			r.fail(ex.ranges["state"], "state.%s: want %s, but it was never set", k, valueText(want))
		case !sameValue(want, got):
			r.fail(ex.ranges["state"], "state.%s: want %s, got %s", k, valueText(want), valueText(got))
		}
	}
}

// sameValue compares an expected value with an actual one after
// converting the expectation to the actual type, so 3 matches "3" only
// where the journey stored a string.
func sameValue(want, got cty.Value) bool {
	if got.IsNull() || want.IsNull() {
		return got.IsNull() && want.IsNull()
	}
	c, err := convert.Convert(want, got.Type())
	if err != nil {
		return jsonText(want) == jsonText(got)
	}
	eq := c.Equals(got)
	return eq.IsKnown() && eq.True()
}

func valueText(v cty.Value) string {
	if v.IsNull() {
		return "null"
	}
	return jsonText(v)
}

func jsonText(v cty.Value) string {
	if v.IsNull() {
		return "null"
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return v.GoString()
	}
	return string(b)
}

// checkRADIUSAttributes compares the reply attributes of the Access-Accept
// with the expectation. The values are those of the policy's
// reply_attributes, evaluated as the server does (the journey's final
// user and state, the request, the clock); a list stands for one
// attribute per element, so "vpn" and ["vpn"] are the same reply.
func (r *run) checkRADIUSAttributes(ex *Expect) {
	rng := ex.ranges["radius_attributes"]
	if r.res.Outcome != "success" {
		r.fail(rng, "radius_attributes: no Access-Accept (the outcome is %s), so no attributes were sent", r.res.Outcome)
		return
	}
	got, err := r.replyAttributes()
	if err != nil {
		r.fail(rng, "radius_attributes: %v", err)
		return
	}
	for _, k := range sortedKeys(ex.RADIUSAttributes) {
		want := attrValues(ex.RADIUSAttributes[k])
		var have []string
		for name, v := range got {
			if strings.EqualFold(name, k) {
				have = attrValues(v)
			}
		}
		if !slicesEqual(want, have) {
			r.fail(rng, "radius_attributes[%q]: want %s, got %s", k, listText(want), listText(have))
		}
	}
}

func attrValues(v cty.Value) []string {
	if v == cty.NilVal || v.IsNull() {
		return nil
	}
	var vals []cty.Value
	if v.Type().IsListType() || v.Type().IsTupleType() || v.Type().IsSetType() {
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			vals = append(vals, e)
		}
	} else {
		vals = []cty.Value{v}
	}
	out := []string{}
	for _, e := range vals {
		if e.IsNull() {
			continue
		}
		if s, err := convert.Convert(e, cty.String); err == nil {
			out = append(out, s.AsString())
		} else {
			out = append(out, jsonText(e))
		}
	}
	return out
}

func listText(l []string) string {
	if len(l) == 0 {
		return "nothing"
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// replyAttributes evaluates the reply_attributes of the policy that served
// the scenario with the engine's own evaluation context.
func (r *run) replyAttributes() (map[string]cty.Value, error) {
	pol := r.radiusPolicy()
	if pol == nil {
		return nil, fmt.Errorf("no radius_policy serving client %q runs journey %q; name one with radius_policy", r.sc.RADIUSClient, r.trace.top)
	}
	if pol.ReplyAttributes == nil {
		return map[string]cty.Value{}, nil
	}
	_, _, _, s := r.trace.snapshot()
	if s == nil {
		return nil, fmt.Errorf("the journey ran no node")
	}
	j := r.prog.Journeys[pol.Journey]
	nc := engine.NewContext(s, j, r.prog.Realms[pol.Realm], &engine.CompiledNode{Name: "reply_attributes"}, &r.req, r.eng.Services(), r.clock.Now(), nil)
	v, diags := pol.ReplyAttributes.Value(nc.EvalContext())
	if diags.HasErrors() {
		return nil, fmt.Errorf("evaluating reply_attributes: %s", diagText(diags))
	}
	out := map[string]cty.Value{}
	if v.IsNull() {
		return out, nil
	}
	v, _ = v.UnmarkDeep()
	for k, e := range v.AsValueMap() {
		out[k] = e
	}
	return out, nil
}

// radiusPolicy is the policy the scenario names, else the first that
// serves its client and runs the journey it took.
func (r *run) radiusPolicy() *rad.Policy {
	cl := r.radiusClient()
	for i := range r.radiusCfg.Policies {
		p := &r.radiusCfg.Policies[i]
		if r.sc.RADIUSPolicy != "" {
			if p.Name == r.sc.RADIUSPolicy {
				return p
			}
			continue
		}
		serves := len(p.Clients) == 0
		for _, c := range p.Clients {
			if cl != nil && c == cl.Name {
				serves = true
			}
		}
		if serves && p.Journey == r.trace.top {
			return p
		}
	}
	return nil
}

// checkClaims compares the userinfo claims with the expectation, as JSON.
func (r *run) checkClaims(ex *Expect) {
	rng := ex.ranges["claims"]
	if r.claims == nil {
		r.fail(rng, "claims: no token was issued with the openid scope (the outcome is %s)", r.res.Outcome)
		return
	}
	for _, k := range sortedKeys(ex.Claims) {
		want := ex.Claims[k]
		got, ok := r.claims[k]
		if !ok {
			if !want.IsNull() {
				r.fail(rng, "claims.%s: want %s, but the claim is missing", k, valueText(want))
			}
			continue
		}
		var w any
		_ = json.Unmarshal([]byte(jsonText(want)), &w)
		if !reflect.DeepEqual(w, got) {
			b, _ := json.Marshal(got)
			r.fail(rng, "claims.%s: want %s, got %s", k, valueText(want), b)
		}
	}
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func pathText(p []string) string {
	if len(p) == 0 {
		return "(no node ran)"
	}
	return strings.Join(p, " → ")
}

// partingText says where two paths part, in one line.
func partingText(want, got []string) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	after := "at the start"
	if i > 0 {
		after = "after " + want[i-1]
	}
	w, g := "(end)", "(end)"
	if i < len(want) {
		w = want[i]
	}
	if i < len(got) {
		g = got[i]
	}
	return fmt.Sprintf("the paths part %s (node %d): want %s, got %s", after, i+1, w, g)
}

// PathDiff is a line diff of two paths: common nodes indented, the
// expected-only ones with "-", the actual-only ones with "+", in the
// order of a longest common subsequence, as diff(1) shows them.
func PathDiff(want, got []string) []string {
	n, m := len(want), len(got)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if want[i] == got[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []string
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && want[i] == got[j]:
			out = append(out, "  "+want[i])
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, "- "+want[i])
			i++
		default:
			out = append(out, "+ "+got[j])
			j++
		}
	}
	return out
}
