package api_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/authd/authd/engine/logtest"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/protocols/api"
)

// TestRecoverAnswersAPanic: a handler's panic is a 500 with the API's
// error body when nothing was answered yet (a page quoting the request id
// for a browser), and a cut connection when the answer had begun (never a
// truncated answer that looks whole); either way it is logged with the
// request's id. net/http's own
// http.ErrAbortHandler still just cuts the connection, unlogged.
func TestRecoverAnswersAPanic(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want500 bool // else the client reads a broken answer
		logged  bool
		browser bool // the client accepts text/html, and wants a page
	}{
		{name: "before the answer", want500: true, logged: true, handler: func(w http.ResponseWriter, _ *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "authd_login", Value: "half-made"})
			w.Header().Set("Content-Type", "text/html")
			panic("boom")
		}},
		{name: "before the answer, from a browser", want500: true, logged: true, browser: true, handler: func(w http.ResponseWriter, _ *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "authd_login", Value: "half-made"})
			panic("boom")
		}},
		{name: "after the answer began", logged: true, handler: func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(`{"outcome":`))
			http.NewResponseController(w).Flush()
			panic("boom")
		}},
		{name: "after a flush alone sent the header", logged: true, handler: func(w http.ResponseWriter, _ *http.Request) {
			http.NewResponseController(w).Flush()
			panic("boom")
		}},
		{name: "http.ErrAbortHandler", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte(`{"outcome":`))
			http.NewResponseController(w).Flush()
			panic(http.ErrAbortHandler)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logtest.Buffer{}
			log := slog.New(slog.NewTextHandler(logs, nil))
			srv := httptest.NewUnstartedServer(api.RequestIDs(api.Recover(log, tt.handler)))
			srv.Config.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
			srv.Start()
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
			req.Header.Set(api.RequestIDHeader, "req-panic-1")
			if tt.browser {
				req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
			}
			resp, err := srv.Client().Do(req)
			var body []byte
			if err == nil {
				body, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if tt.want500 {
				if err != nil {
					t.Fatalf("no answer: %v", err)
				}
				var e api.Error
				switch {
				case resp.StatusCode != http.StatusInternalServerError:
					t.Fatalf("got %d %s, want a 500", resp.StatusCode, body)
				case tt.browser:
					if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(string(body), "Something went wrong") || !strings.Contains(string(body), "req-panic-1") {
						t.Fatalf("a browser got %q: %s; want an error page quoting the request id", ct, body)
					}
				case json.Unmarshal(body, &e) != nil || e.Error != "server_error":
					t.Fatalf("got %s, want the API's error body", body)
				}
				if got := resp.Header.Get(api.RequestIDHeader); got != "req-panic-1" {
					t.Errorf("X-Request-Id %q, want the client's", got)
				}
				if c := resp.Header.Values("Set-Cookie"); len(c) != 0 || !tt.browser && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
					t.Errorf("the 500 kept the failed answer's headers: Set-Cookie %q, Content-Type %q", c, resp.Header.Get("Content-Type"))
				}
			} else if err == nil {
				t.Fatalf("read a whole answer (%d %s) from a handler that panicked in it", resp.StatusCode, body)
			}
			srv.Close() // flushes the server's log
			out := logs.String()
			if got := strings.Contains(out, "panic while serving a request") && strings.Contains(out, "req-panic-1"); got != tt.logged {
				t.Errorf("logged with the request id: %v, want %v; log:\n%s", got, tt.logged, out)
			}
			if strings.Contains(out, "http: panic serving") {
				t.Errorf("net/http logged the panic too:\n%s", out)
			}
		})
	}
}

// faultyKV panics in every transaction while faulty is set, as a store bug
// or a fault on bbolt's memory map would.
type faultyKV struct {
	store.KV
	faulty atomic.Bool
}

func (f *faultyKV) fault() {
	if f.faulty.Load() {
		panic("faultyKV: fault")
	}
}
func (f *faultyKV) View(fn func(store.Tx) error) error   { f.fault(); return f.KV.View(fn) }
func (f *faultyKV) Update(fn func(store.Tx) error) error { f.fault(); return f.KV.Update(fn) }
func (f *faultyKV) Batch(fn func(store.Tx) error) error  { f.fault(); return f.KV.Batch(fn) }

// TestParkedPollThatPanicsIsA500: a parked long poll resumes on a
// goroutine of its own, outside net/http and Recover; a panic there (the
// store faults as the wake comes) still answers the client with a 500,
// lets the hold go, and serving goes on.
func TestParkedPollThatPanicsIsA500(t *testing.T) {
	n := &waiter{seconds: 60}
	kv := &faultyKV{KV: memstore.New()}
	e, srv, h := newWaitServerOn(t, n, "http1", kv)
	id := startWait(t, srv)
	done := make(chan reply, 1)
	go func() {
		code, m := post(t, srv, waitPath+"?wait=25s", `{"session":"`+id+`","callbacks":[{"id":"wait","value":""}]}`)
		done <- reply{code, m}
	}()
	waitHeld(t, e, h, id, "http1")
	kv.faulty.Store(true)
	e.Wake(id)
	r := <-done
	kv.faulty.Store(false)
	if r.code != http.StatusInternalServerError || r.m["error"] != "server_error" {
		t.Fatalf("parked poll whose resume panicked: %d %v, want a 500", r.code, r.m)
	}
	if h.Parked() != 0 {
		t.Errorf("%d holds still parked", h.Parked())
	}
	if next := startWait(t, srv); next == "" || next == id {
		t.Errorf("a new login after the panic: session %q", next)
	}
}
