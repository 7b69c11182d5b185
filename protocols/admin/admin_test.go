package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/protocols/admin"
)

// shortTempDir returns a directory short enough for a unix socket path.
func shortTempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "adm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// startServer serves m on a fresh socket until the test ends.
func startServer(t *testing.T, s *admin.Server) string {
	t.Helper()
	path := filepath.Join(shortTempDir(t), admin.SocketName)
	ln, err := admin.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return path
}

type echoArgs struct {
	Text string `json:"text"`
}

func testMux() *admin.Mux {
	m := admin.NewMux()
	m.Handle("echo", admin.Typed(func(_ context.Context, a echoArgs) (echoArgs, error) {
		return a, nil
	}))
	m.Handle("fail", admin.Typed(func(context.Context, struct{}) (admin.OK, error) {
		return admin.OK{}, errors.New("the thing failed: disk full")
	}))
	m.Handle("missing", admin.Typed(func(context.Context, struct{}) (admin.OK, error) {
		return admin.OK{}, admin.Errorf(admin.CodeNotFound, "no user %q in realm %q", "bob", "corp")
	}))
	return m
}

func TestListenMode(t *testing.T) {
	path := startServer(t, &admin.Server{Handler: testMux()})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode = %v, want a 0600 socket", fi.Mode())
	}
}

func TestCalls(t *testing.T) {
	path := startServer(t, &admin.Server{Handler: testMux()})
	local := admin.Local(testMux())
	dial := func(t *testing.T) admin.Caller {
		c, err := admin.Dial(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	tests := []struct {
		name     string
		op       string
		in       any
		wantOut  string // JSON of the result
		wantErr  string // substring of the error
		wantCode string
	}{
		{name: "ping", op: "ping", in: struct{}{}, wantOut: `{}`},
		{name: "echo", op: "echo", in: echoArgs{Text: "héllo"}, wantOut: `{"text":"héllo"}`},
		{name: "handler error keeps its message", op: "fail", in: struct{}{}, wantErr: "the thing failed: disk full", wantCode: admin.CodeInternal},
		{name: "coded error", op: "missing", in: struct{}{}, wantErr: `no user "bob" in realm "corp"`, wantCode: admin.CodeNotFound},
		{name: "unknown op", op: "nope", in: struct{}{}, wantErr: `unknown admin operation "nope"`, wantCode: admin.CodeUnknownOp},
		{name: "unknown field", op: "echo", in: map[string]string{"txet": "x"}, wantErr: "bad arguments", wantCode: admin.CodeInvalid},
	}
	for _, tt := range tests {
		for _, via := range []string{"socket", "local"} {
			t.Run(tt.name+"/"+via, func(t *testing.T) {
				c := local
				if via == "socket" {
					c = dial(t)
				}
				var out json.RawMessage
				err := c.Call(tt.op, tt.in, &out)
				if tt.wantErr != "" {
					var ae *admin.Error
					if !errors.As(err, &ae) {
						t.Fatalf("err = %v (%T), want an *admin.Error", err, err)
					}
					if !strings.Contains(ae.Message, tt.wantErr) || strings.Contains(ae.Message, "\n") {
						t.Fatalf("err = %q, want one line containing %q", ae.Message, tt.wantErr)
					}
					if ae.Code != tt.wantCode {
						t.Fatalf("code = %q, want %q", ae.Code, tt.wantCode)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if string(out) != tt.wantOut {
					t.Fatalf("out = %s, want %s", out, tt.wantOut)
				}
			})
		}
	}
}

func TestClientReusesNothingAfterFirstCall(t *testing.T) {
	path := startServer(t, &admin.Server{Handler: testMux()})
	c, err := admin.Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 3; i++ {
		var out echoArgs
		if err := c.Call("echo", echoArgs{Text: "x"}, &out); err != nil || out.Text != "x" {
			t.Fatalf("call %d: %v %+v", i, err, out)
		}
	}
}

// rawCall sends raw bytes and returns the raw answer line.
func rawCall(t *testing.T, path string, req []byte) map[string]any {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		c.Write(req)
		c.(*net.UnixConn).CloseWrite()
	}()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("answer %q: %v", b, err)
	}
	return m
}

func TestBadRequests(t *testing.T) {
	path := startServer(t, &admin.Server{Handler: testMux(), MaxRequestBytes: 1024})
	tests := []struct {
		name     string
		req      []byte
		wantCode string
	}{
		{"not json", []byte("hello\n"), admin.CodeInvalid},
		{"no op", []byte(`{"args":{}}` + "\n"), admin.CodeInvalid},
		{"empty", nil, admin.CodeInvalid},
		{"too large", []byte(`{"op":"echo","args":{"text":"` + strings.Repeat("a", 2000) + `"}}` + "\n"), admin.CodeTooLarge},
		{"no newline is fine", []byte(`{"op":"ping"}`), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := rawCall(t, path, tt.req)
			if got, _ := m["code"].(string); got != tt.wantCode {
				t.Fatalf("answer %v, want code %q", m, tt.wantCode)
			}
		})
	}
}

func TestPeerRefused(t *testing.T) {
	var seen int = -2
	path := startServer(t, &admin.Server{Handler: testMux(), AllowUID: func(uid int) bool { seen = uid; return false }})
	c, err := admin.Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Call("ping", struct{}{}, nil)
	var ae *admin.Error
	if !errors.As(err, &ae) || ae.Code != admin.CodeForbidden {
		t.Fatalf("err = %v, want forbidden", err)
	}
	if seen != os.Getuid() {
		t.Fatalf("AllowUID saw uid %d, want ours (%d)", seen, os.Getuid())
	}
}

func TestStaleAndLiveSockets(t *testing.T) {
	dir := shortTempDir(t)
	path := filepath.Join(dir, admin.SocketName)

	// A socket file nobody listens on (a crashed server) is replaced.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stale socket should still exist: %v", err)
	}
	live, err := admin.Listen(path)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}

	// A live one is left alone.
	if _, err := admin.Listen(path); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("Listen over a live socket: err = %v, want in use", err)
	}
	// Serving and stopping removes the file.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&admin.Server{Handler: testMux()}).Serve(ctx, live) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket file left behind after Serve: %v", err)
	}

	// A regular file in the way is not deleted.
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Listen(path); err == nil {
		t.Fatal("Listen replaced a regular file")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("regular file removed: %v", err)
	}
}

func TestListenPathTooLong(t *testing.T) {
	_, err := admin.Listen("/tmp/" + strings.Repeat("d", 120) + "/admin.sock")
	if err == nil || !strings.Contains(err.Error(), "too long") {
		t.Fatalf("err = %v, want too long", err)
	}
}

func TestDialNobody(t *testing.T) {
	_, err := admin.Dial(filepath.Join(shortTempDir(t), "none.sock"))
	if err == nil || strings.Contains(err.Error(), "dial unix") {
		t.Fatalf("err = %v, want a short error", err)
	}
}

func TestServeHelper(t *testing.T) {
	path := filepath.Join(shortTempDir(t), admin.SocketName)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- admin.Serve(ctx, path, testMux()) }()
	var c *admin.Client
	var err error
	for i := 0; i < 100; i++ {
		if c, err = admin.Dial(path); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	var p admin.Pong
	if err := c.Call("ping", nil, &p); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestMuxOps(t *testing.T) {
	m := testMux()
	got := strings.Join(m.Ops(), ",")
	if got != "echo,fail,missing,ping" {
		t.Fatalf("Ops = %s", got)
	}
}

func TestDidYouMean(t *testing.T) {
	cands := []string{"corp", "demo", "partners"}
	tests := []struct{ in, want string }{
		{"crop", "corp"},
		{"Corp", "corp"},
		{"demos", "demo"},
		{"partner", "partners"},
		{"zzzzzz", ""},
		{"x", ""},
	}
	for _, tt := range tests {
		if got := admin.DidYouMean(tt.in, cands); got != tt.want {
			t.Errorf("DidYouMean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCheckUserName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"alice", true},
		{"alice@example.com", true},
		{"Zoë", true},
		{"", false},
		{" alice", false},
		{"al\nice", false},
		{"al\x1bice", false},
		{strings.Repeat("a", 129), false},
		{"\xff", false},
	}
	for _, tt := range tests {
		if err := admin.CheckUserName(tt.name); (err == nil) != tt.ok {
			t.Errorf("CheckUserName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}
