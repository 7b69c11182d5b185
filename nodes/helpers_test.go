package nodes_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/authd/authd/engine"
	_ "github.com/authd/authd/nodes"
)

// testNow is the clock reading of every test context.
var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// nodeType looks a registered type up or fails the test.
func nodeType(t *testing.T, typ string) *engine.NodeType {
	t.Helper()
	nt, ok := engine.LookupNodeType(typ)
	if !ok {
		t.Fatalf("node type %q is not registered", typ)
	}
	return nt
}

// decode parses src as the body of a node block of type typ and decodes it
// into the type's settings, as dsl does.
func decode(t *testing.T, typ, src string) (any, hcl.Diagnostics) {
	t.Helper()
	nt := nodeType(t, typ)
	f, diags := hclsyntax.ParseConfig([]byte(src), "test.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parsing %q: %s", src, diags)
	}
	cfg := nt.Config()
	diags = gohcl.DecodeBody(f.Body, nil, cfg)
	return cfg, diags
}

// mustDecode is decode that fails the test on diagnostics.
func mustDecode(t *testing.T, typ, src string) any {
	t.Helper()
	cfg, diags := decode(t, typ, src)
	if diags.HasErrors() {
		t.Fatalf("decoding %s %q: %s", typ, src, diags)
	}
	return cfg
}

// build decodes src and builds the node.
func build(t *testing.T, typ, src string) engine.Node {
	t.Helper()
	n, err := nodeType(t, typ).New(mustDecode(t, typ, src))
	if err != nil {
		t.Fatalf("New(%s %q): %v", typ, src, err)
	}
	return n
}

// buildErr decodes src and returns New's error, which must be a setting
// error naming setting.
func buildErr(t *testing.T, typ, src, setting string) error {
	t.Helper()
	_, err := nodeType(t, typ).New(mustDecode(t, typ, src))
	if err == nil {
		t.Fatalf("New(%s %q): no error, want one about %s", typ, src, setting)
	}
	var got []*engine.SettingError
	switch e := err.(type) {
	case *engine.SettingError:
		got = append(got, e)
	case engine.SettingErrors:
		got = e
	default:
		t.Fatalf("New(%s %q): %T %v, want a SettingError", typ, src, err, err)
	}
	for _, e := range got {
		if e.Setting == setting {
			return err
		}
	}
	t.Fatalf("New(%s %q): %v, want an error about %q", typ, src, err, setting)
	return nil
}

// env is the session-side world of a test context.
type env struct {
	session *engine.Session
	journey *engine.Journey
	realm   *engine.Realm
	svc     *engine.Services
	req     *engine.Request
}

func newEnv(stateKeys ...string) *env {
	return &env{
		session: &engine.Session{ID: "test-session-id", Realm: "corp", Journey: "j"},
		journey: &engine.Journey{Name: "j", Realm: "corp", StateKeys: stateKeys},
		realm:   &engine.Realm{Name: "corp", DisplayName: "Example Corp", DefaultLocale: "en"},
		svc:     &engine.Services{},
		req:     &engine.Request{Protocol: "api"},
	}
}

// ctx returns a context for node name; answers nil means entered afresh.
func (e *env) ctx(name string, answers []engine.Callback) *engine.Context {
	cn := &engine.CompiledNode{Name: name, Type: "test"}
	return engine.NewContext(e.session, e.journey, e.realm, cn, e.req, e.svc, testNow, answers)
}

// process runs n for node name and fails the test on a fault.
func process(t *testing.T, n engine.Node, nc *engine.Context) engine.Result {
	t.Helper()
	res, err := n.Process(context.Background(), nc)
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	return res
}

// answer fills the callbacks a node suspended with, as a client would:
// vals maps a callback id to its value.
func answer(cbs []engine.Callback, vals map[string]string) []engine.Callback {
	out := make([]engine.Callback, len(cbs))
	copy(out, cbs)
	for i := range out {
		if v, ok := vals[out[i].ID]; ok {
			out[i].Value = &v
		} else {
			out[i].Value = nil
		}
	}
	return out
}

// wantOutcome checks that res follows o.
func wantOutcome(t *testing.T, res engine.Result, o engine.Outcome) {
	t.Helper()
	if res.Outcome != o || len(res.Callbacks) > 0 || res.Enter != "" {
		t.Fatalf("result %+v, want outcome %q", res, o)
	}
}

// wantAsk checks that res suspends with callbacks of the given types and
// returns them.
func wantAsk(t *testing.T, res engine.Result, types ...string) []engine.Callback {
	t.Helper()
	if res.Outcome != "" || res.Enter != "" || len(res.Callbacks) != len(types) {
		t.Fatalf("result %+v, want callbacks %v", res, types)
	}
	for i, cb := range res.Callbacks {
		if cb.Type != types[i] {
			t.Fatalf("callback %d is %q, want %q", i, cb.Type, types[i])
		}
	}
	return res.Callbacks
}

// outcomeNames renders outcomes for comparison.
func outcomeNames(os []engine.Outcome) string {
	s := make([]string, len(os))
	for i, o := range os {
		s[i] = string(o)
	}
	return strings.Join(s, ",")
}
