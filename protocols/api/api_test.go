package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/protocols/api"
)

type funcNode func(ctx context.Context, nc *engine.Context) (engine.Result, error)

func (f funcNode) Process(ctx context.Context, nc *engine.Context) (engine.Result, error) {
	return f(ctx, nc)
}

// login asks name and password; "alice"/"secret" succeeds.
var login = funcNode(func(_ context.Context, nc *engine.Context) (engine.Result, error) {
	if !nc.Resumed() {
		return engine.Ask(
			engine.Callback{Type: engine.CallbackName, ID: "username", Prompt: "User name"},
			engine.Callback{Type: engine.CallbackPassword, ID: "password", Prompt: "Password"},
		), nil
	}
	u, _ := nc.Answer("username")
	p, _ := nc.Answer("password")
	nc.SetUser(u)
	if u == "alice" && p == "secret" {
		return engine.Next("success"), nil
	}
	return engine.Next("failure"), nil
})

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	e := engine.New(engine.Options{KV: memstore.New()})
	e.Load(&engine.Program{
		Revision: "r1",
		Realms:   map[string]*engine.Realm{"corp": {Name: "corp"}},
		Journeys: map[string]*engine.Journey{"web": {
			Name: "web", Realm: "corp", Start: "login", Revision: "w1",
			Nodes: map[string]*engine.CompiledNode{"login": {Name: "login", Type: "test", Node: login,
				Edges: map[engine.Outcome]string{"success": "success", "failure": "failure"}}},
		}, "other": {
			Name: "other", Realm: "corp", Start: "login", Revision: "o1",
			Nodes: map[string]*engine.CompiledNode{"login": {Name: "login", Type: "test", Node: login,
				Edges: map[engine.Outcome]string{"success": "success", "failure": "failure"}}},
		}},
	})
	srv := httptest.NewServer(api.New(e, nil))
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, srv *httptest.Server, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req) // HTTP/2 when srv speaks it
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: not JSON: %s", path, b)
	}
	return resp.StatusCode, m
}

const webPath = "/api/v1/realms/corp/journeys/web/authenticate"

func start(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	code, m := post(t, srv, webPath, `{}`)
	if code != 200 || m["session"] == nil {
		t.Fatalf("start: %d %v", code, m)
	}
	cbs := m["callbacks"].([]any)
	if len(cbs) != 2 || cbs[0].(map[string]any)["type"] != "name" || cbs[1].(map[string]any)["id"] != "password" {
		t.Fatalf("callbacks: %v", cbs)
	}
	return m["session"].(string)
}

func answer(session, user, pass string) string {
	b, _ := json.Marshal(map[string]any{"session": session, "callbacks": []map[string]any{
		{"type": "name", "id": "username", "value": user},
		{"type": "password", "id": "password", "value": pass},
	}})
	return string(b)
}

func TestLoginOutcomes(t *testing.T) {
	srv := newServer(t)
	cases := []struct {
		name, user, pass, outcome string
		showsUser                 bool
	}{
		{"right password", "alice", "secret", "success", true},
		{"wrong password", "alice", "nope", "failure", false},
		{"unknown user", "mallory", "secret", "failure", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := start(t, srv)
			code, m := post(t, srv, webPath, answer(id, tc.user, tc.pass))
			if code != 200 || m["outcome"] != tc.outcome {
				t.Fatalf("%d %v", code, m)
			}
			if _, has := m["user"]; has != tc.showsUser {
				t.Errorf("user shown=%v in %v", has, m)
			}
			code, m = post(t, srv, webPath, answer(id, tc.user, tc.pass))
			if code != http.StatusConflict || m["error"] != "session_finished" {
				t.Errorf("replay: %d %v", code, m)
			}
		})
	}
	// The two failures must be indistinguishable on the wire.
	id1, id2 := start(t, srv), start(t, srv)
	_, a := post(t, srv, webPath, answer(id1, "alice", "nope"))
	_, b := post(t, srv, webPath, answer(id2, "mallory", "nope"))
	if ja, _ := json.Marshal(a); string(ja) != func() string { jb, _ := json.Marshal(b); return string(jb) }() {
		t.Errorf("wrong password %v and unknown user %v differ", a, b)
	}
}

func TestBadRequests(t *testing.T) {
	srv := newServer(t)
	id := start(t, srv)
	cases := []struct {
		name, path, body string
		code             int
		errCode, field   string
		callback         string
	}{
		{"malformed JSON", webPath, `{"session":`, 400, "invalid_request", "", ""},
		{"unknown field", webPath, `{"sesion":"x"}`, 400, "invalid_request", "sesion", ""},
		{"wrong type", webPath, `{"session": 5}`, 400, "invalid_request", "session", ""},
		{"callbacks without session", webPath, `{"callbacks":[{"id":"username","value":"a"}]}`, 400, "invalid_request", "session", ""},
		{"unknown session", webPath, `{"session":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`, 404, "session_not_found", "session", ""},
		{"unknown callback", webPath, `{"session":"` + id + `","callbacks":[{"id":"otp","value":"1"}]}`, 400, "invalid_callbacks", "", "otp"},
		{"missing value", webPath, `{"session":"` + id + `","callbacks":[{"id":"username","value":"a"}]}`, 400, "invalid_callbacks", "", "password"},
		{"unknown journey", "/api/v1/realms/corp/journeys/nope/authenticate", `{}`, 404, "not_found", "", ""},
		{"unknown realm", "/api/v1/realms/nope/journeys/web/authenticate", `{}`, 404, "not_found", "", ""},
		{"session of another journey", "/api/v1/realms/corp/journeys/other/authenticate", `{"session":"` + id + `"}`, 404, "session_not_found", "session", ""},
		{"body too large", webPath, `{"session":"` + strings.Repeat("a", api.MaxBodyBytes) + `"}`, 400, "invalid_request", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, m := post(t, srv, tc.path, tc.body)
			if code != tc.code || m["error"] != tc.errCode {
				t.Fatalf("got %d %v, want %d %s", code, m, tc.code, tc.errCode)
			}
			if tc.field != "" && m["field"] != tc.field {
				t.Errorf("field %v, want %s", m["field"], tc.field)
			}
			if tc.callback != "" && m["callback"] != tc.callback {
				t.Errorf("callback %v, want %s", m["callback"], tc.callback)
			}
		})
	}
	// After all that, the session still works.
	code, m := post(t, srv, webPath, answer(id, "alice", "secret"))
	if code != 200 || m["outcome"] != "success" {
		t.Fatalf("session broken by bad requests: %d %v", code, m)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	srv := newServer(t)
	resp, err := http.Get(srv.URL + webPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}
