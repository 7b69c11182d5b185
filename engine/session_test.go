package engine_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/engine"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// pushSession is a session as a push login stores it while it waits: the
// shape the session codec is on the hot path for (every resume and every
// long poll decodes one).
func pushSession() *engine.Session {
	t := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	empty := ""
	return &engine.Session{
		ID: "k3Jx0dFv7Q2mZlqB8yT1wEoP4cR5sUaN", Realm: "corp", Journey: "push", Revision: "r-7f3a9c",
		Node: "wait", User: "alice",
		State: map[string]cty.Value{
			"username":        cty.StringVal("alice"),
			"push_message_id": cty.StringVal("9PqL2vWx7nKd4sRtYb8mZa"),
			"mfa_method":      cty.StringVal("push"),
			"retries":         cty.NumberIntVal(2),
			"remembered":      cty.False,
		},
		Counters: map[string]int{"retry": 1},
		Data:     map[string]string{"push": "9PqL2vWx7nKd4sRtYb8mZa"},
		Pending:  []engine.Callback{{Type: engine.CallbackWait, ID: "wait", Seconds: 60, Message: "Approve the sign-in on your phone", Value: &empty}},
		Path:     []string{"who", "push", "wait"},
		Trail:    []engine.Step{{Node: "who", Type: "username", Outcome: "next"}, {Node: "push", Type: "push_sender", Outcome: "sent"}},
		Steps:    3, Created: t, Expires: t.Add(10 * time.Minute), Until: t.Add(time.Minute),
		Origin:  engine.Request{Protocol: "api", ClientIP: "203.0.113.7", UserAgent: "Mozilla/5.0", RequestID: "req-1"},
		Version: 4,
	}
}

// TestSessionJSONRoundTrip checks that every kind of shared-state value
// comes back from the store exactly as it was saved: the primitive types
// (which have a fast path) and the structural ones (which go through
// go-cty's own codec), nulls included.
func TestSessionJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		v    cty.Value
	}{
		{"string", cty.StringVal("alice")},
		{"empty string", cty.StringVal("")},
		{"string with escapes and unicode", cty.StringVal("a \"quoted\" \\ line\nnext\tтаб ✓ \u2028")},
		{"integer", cty.NumberIntVal(42)},
		{"negative fraction", cty.NumberFloatVal(-0.125)},
		{"huge number", cty.MustParseNumberVal("123456789012345678901234567890.5")},
		{"tiny number", cty.MustParseNumberVal("-1.5e-300")},
		{"true", cty.True},
		{"false", cty.False},
		{"null string", cty.NullVal(cty.String)},
		{"null number", cty.NullVal(cty.Number)},
		{"null bool", cty.NullVal(cty.Bool)},
		{"list of strings", cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")})},
		{"empty list", cty.ListValEmpty(cty.String)},
		{"map", cty.MapVal(map[string]cty.Value{"k": cty.NumberIntVal(1)})},
		{"object", cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("x"), "ok": cty.True})},
		{"tuple", cty.TupleVal([]cty.Value{cty.StringVal("x"), cty.NumberIntVal(2)})},
		{"set", cty.SetVal([]cty.Value{cty.StringVal("x")})},
		{"dynamic null", cty.NullVal(cty.DynamicPseudoType)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := pushSession()
			s.State = map[string]cty.Value{"v": tt.v}
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			var got engine.Session
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("decode %s: %v", b, err)
			}
			g := got.State["v"]
			if !g.Type().Equals(tt.v.Type()) {
				t.Fatalf("type %#v, want %#v", g.Type(), tt.v.Type())
			}
			if g.IsNull() != tt.v.IsNull() || !g.IsNull() && !g.Equals(tt.v).True() {
				t.Errorf("value %#v, want %#v", g, tt.v)
			}
			// Exactly what go-cty's own codec makes of the stored JSON,
			// down to a number's precision: the fast path must not differ.
			val, _ := ctyjson.Marshal(tt.v, tt.v.Type())
			want, err := ctyjson.Unmarshal(val, tt.v.Type())
			if err != nil {
				t.Fatal(err)
			}
			if !g.RawEquals(want) {
				t.Errorf("value %#v, go-cty decodes %#v", g, want)
			}
		})
	}
}

// TestSessionJSONRejectsBadState checks that a state entry go-cty cannot
// read is an error naming the entry, whether or not it has the fast
// path's primitive type, never a panic or a silently wrong value.
func TestSessionJSONRejectsBadState(t *testing.T) {
	tests := []struct {
		name, entry string
	}{
		{"number given text", `{"type":"number","value":"twelve"}`},
		{"number out of go-cty's range", `{"type":"number","value":1e999999999999}`},
		{"null type", `{"type":null,"value":1}`},
		{"bool given a string", `{"type":"bool","value":"yes"}`},
		{"unknown type", `{"type":"quaternion","value":1}`},
		{"list given an object", `{"type":["list","string"],"value":{"a":1}}`},
		{"missing value", `{"type":"string"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := `{"id":"x","realm":"r","journey":"j","revision":"v","node":"n","steps":0,"created":"2026-12-07T00:00:00Z","expires":"2026-12-07T00:00:00Z","origin":{"protocol":"api"},"version":1,"state":{"bad":` + tt.entry + `}}`
			var s engine.Session
			err := json.Unmarshal([]byte(doc), &s)
			if err == nil {
				t.Fatalf("decoded %#v", s.State["bad"])
			}
			if !strings.Contains(err.Error(), `"bad"`) {
				t.Errorf("error %q does not name the entry", err)
			}
		})
	}
}

// BenchmarkSessionDecode is the cost of loading a waiting push login's
// session: every resume and every long poll pays it.
func BenchmarkSessionDecode(b *testing.B) {
	raw, err := json.Marshal(pushSession())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		var s engine.Session
		if err := json.Unmarshal(raw, &s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessionEncode is the cost of saving it.
func BenchmarkSessionEncode(b *testing.B) {
	s := pushSession()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(s); err != nil {
			b.Fatal(err)
		}
	}
}
