package api_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/ratelimit"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/protocols/api"
)

func program() *engine.Program {
	return &engine.Program{
		Revision: "r1",
		Realms:   map[string]*engine.Realm{"corp": {Name: "corp"}},
		Journeys: map[string]*engine.Journey{"web": {
			Name: "web", Realm: "corp", Start: "login", Revision: "w1",
			Nodes: map[string]*engine.CompiledNode{"login": {Name: "login", Type: "test", Node: login,
				Edges: map[engine.Outcome]string{"success": "success", "failure": "failure"}}},
		}},
	}
}

func limitedServer(t *testing.T, kv store.KV, o api.Options) *httptest.Server {
	t.Helper()
	e := engine.New(engine.Options{KV: kv})
	e.Load(program())
	srv := httptest.NewServer(api.RequestIDs(api.NewWithOptions(e, o)))
	t.Cleanup(srv.Close)
	return srv
}

func TestPerIPRateLimit(t *testing.T) {
	srv := limitedServer(t, memstore.New(), api.Options{IPLimit: ratelimit.New(ratelimit.Rate{Events: 3, Per: time.Hour})})
	for i := 0; i < 3; i++ {
		if code, m := post(t, srv, webPath, `{}`); code != 200 {
			t.Fatalf("request %d: %d %v", i, code, m)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+webPath, strings.NewReader(`{}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("4th request: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestPerUserRateLimit(t *testing.T) {
	srv := limitedServer(t, memstore.New(), api.Options{UserLimit: ratelimit.New(ratelimit.Rate{Events: 2, Per: time.Hour})})
	// Two wrong guesses for alice are allowed, the third is refused even
	// from a fresh session; bob is not affected.
	for i := 0; i < 2; i++ {
		id := start(t, srv)
		if code, m := post(t, srv, webPath, answer(id, "alice", "nope")); code != 200 || m["outcome"] != "failure" {
			t.Fatalf("guess %d: %d %v", i, code, m)
		}
	}
	id := start(t, srv)
	code, m := post(t, srv, webPath, answer(id, "alice", "secret"))
	if code != http.StatusTooManyRequests || m["error"] != "rate_limited" {
		t.Fatalf("3rd guess: %d %v", code, m)
	}
	// The refused guess left the session where it was.
	if code, m := post(t, srv, webPath, answer(id, "bob", "x")); code != 200 || m["outcome"] != "failure" {
		t.Fatalf("bob: %d %v", code, m)
	}
}

func TestRequestIDs(t *testing.T) {
	srv := limitedServer(t, memstore.New(), api.Options{})
	for _, tc := range []struct{ sent, want string }{
		{"abc-123", "abc-123"},
		{"bad id with spaces", ""},
		{strings.Repeat("x", 65), ""},
		{"", ""},
	} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+webPath, strings.NewReader(`{}`))
		if tc.sent != "" {
			req.Header.Set(api.RequestIDHeader, tc.sent)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get(api.RequestIDHeader)
		if tc.want != "" && got != tc.want || tc.want == "" && (len(got) != 16 || got == tc.sent) {
			t.Errorf("sent %q, got %q", tc.sent, got)
		}
	}
}

// brokenKV fails writes while broken, like a full disk.
type brokenKV struct {
	store.KV
	mu     sync.Mutex
	broken bool
}

func (b *brokenKV) set(v bool) { b.mu.Lock(); b.broken = v; b.mu.Unlock() }
func (b *brokenKV) fail() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.broken {
		return errors.New("write /data/authd.db: no space left on device")
	}
	return nil
}
func (b *brokenKV) Update(fn func(store.Tx) error) error {
	if err := b.fail(); err != nil {
		return err
	}
	return b.KV.Update(fn)
}
func (b *brokenKV) Batch(fn func(store.Tx) error) error {
	if err := b.fail(); err != nil {
		return err
	}
	return b.KV.Batch(fn)
}

func TestStoreWriteErrorIsA500AndServingGoesOn(t *testing.T) {
	kv := &brokenKV{KV: memstore.New()}
	srv := limitedServer(t, kv, api.Options{})
	id := start(t, srv)
	kv.set(true)
	code, m := post(t, srv, webPath, `{}`)
	if code != 500 || m["error"] != "server_error" || strings.Contains(m["message"].(string), "no space") {
		t.Fatalf("start on a full disk: %d %v", code, m)
	}
	kv.set(false)
	if code, m := post(t, srv, webPath, answer(id, "alice", "secret")); code != 200 || m["outcome"] != "success" {
		t.Fatalf("after recovery: %d %v", code, m)
	}
}
