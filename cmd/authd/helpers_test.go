package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// raceEnabled is set by race_test.go, so the binary under test is built
// with the race detector whenever the tests are.
var raceEnabled bool

// authdBin is the binary built once by TestMain.
var authdBin string

const testVersion = "v9.9.9-test"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "authd-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	authdBin = filepath.Join(dir, "authd")
	args := []string{"build", "-o", authdBin, "-ldflags", "-X main.version=" + testVersion + " -X main.commit=0123456789abcdef0123"}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building authd:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one finished authd invocation.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// env is how a test runs authd: the working directory, extra environment
// and stdin. The inherited AUTHD_* variables are cleared.
type env struct {
	dir   string
	vars  []string
	stdin string
}

func (e env) command(args ...string) *exec.Cmd {
	cmd := exec.Command(authdBin, args...)
	cmd.Dir = e.dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AUTHD_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, e.vars...)
	cmd.Stdin = strings.NewReader(e.stdin)
	return cmd
}

// run runs authd to completion.
func (e env) run(t *testing.T, args ...string) result {
	t.Helper()
	cmd := e.command(args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("authd %v: %v", args, err)
	}
	r := result{stdout: out.String(), stderr: errb.String(), code: code}
	checkNoCrash(t, r)
	return r
}

// checkNoCrash fails on a panic or a stack trace in the output.
func checkNoCrash(t *testing.T, r result) {
	t.Helper()
	for _, bad := range []string{"panic:", "goroutine ", "runtime error", "WARNING: DATA RACE"} {
		if strings.Contains(r.stderr, bad) || strings.Contains(r.stdout, bad) {
			t.Fatalf("authd crashed (%q):\n%s", bad, r)
		}
	}
}

// want checks the exit code and that stdout/stderr contain the strings.
func (r result) want(t *testing.T, code int, inStdout, inStderr []string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d, got:\n%s", code, r)
	}
	for _, s := range inStdout {
		if !strings.Contains(r.stdout, s) {
			t.Fatalf("stdout lacks %q:\n%s", s, r)
		}
	}
	for _, s := range inStderr {
		if !strings.Contains(r.stderr, s) {
			t.Fatalf("stderr lacks %q:\n%s", s, r)
		}
	}
}

// oneLineErr checks a user error: exit 1 and exactly one line on stderr
// (warnings aside).
func (r result) oneLineErr(t *testing.T, contains string) {
	t.Helper()
	r.want(t, 1, nil, []string{contains})
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		// warnings and log lines (authd run) aside
		if !strings.HasPrefix(l, "authd: warning:") && !strings.HasPrefix(l, "time=") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "authd: ") {
		t.Fatalf("want one line \"authd: ...\" on stderr, got:\n%s", r)
	}
}

// writeFiles writes name -> content into dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// shortDir is a temporary directory with a short path (unix socket paths
// are limited to about 100 bytes).
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "authd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// runningServer is a running `authd run`.
type runningServer struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string

	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	code   int
}

var listeningRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startServer starts `authd run` and waits for its listening line.
func (e env) startServer(t *testing.T, args ...string) *runningServer {
	t.Helper()
	s := &runningServer{t: t, cmd: e.command(append([]string{"run"}, args...)...), done: make(chan struct{})}
	outPipe, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errPipe, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrc := make(chan string, 1)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.copy(&s.stdout, outPipe, nil)
	}()
	go func() {
		defer wg.Done()
		s.copy(&s.stderr, errPipe, func(line string) {
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case addrc <- m[1]:
				default:
				}
			}
		})
	}()
	go func() {
		wg.Wait()
		err := s.cmd.Wait()
		s.mu.Lock()
		s.code = 0
		if ee, ok := err.(*exec.ExitError); ok {
			s.code = ee.ExitCode()
		}
		s.mu.Unlock()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			s.cmd.Process.Kill()
			<-s.done
		}
	})
	select {
	case s.addr = <-addrc:
	case <-s.done:
		t.Fatalf("authd run exited before listening:\n%s", s.output())
	case <-time.After(60 * time.Second):
		t.Fatalf("authd run did not log msg=listening:\n%s", s.output())
	}
	return s
}

func (s *runningServer) copy(buf *bytes.Buffer, r io.Reader, onLine func(string)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		s.mu.Lock()
		buf.WriteString(sc.Text() + "\n")
		s.mu.Unlock()
		if onLine != nil {
			onLine(sc.Text())
		}
	}
}

func (s *runningServer) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "--- stdout\n" + s.stdout.String() + "--- stderr\n" + s.stderr.String()
}

func (s *runningServer) Stdout() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stdout.String()
}

// waitStdout waits until stdout holds s (stdout and stderr are read
// independently, so the banner may trail the listening line) and returns it.
func (s *runningServer) waitStdout(want string) string {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if out := s.Stdout(); strings.Contains(out, want) {
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("stdout never showed %q:\n%s", want, s.output())
	return ""
}

// stop sends SIGTERM and returns the exit code.
func (s *runningServer) stop() int {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		s.t.Fatalf("authd run did not stop on SIGTERM:\n%s", s.output())
	}
	checkNoCrash(s.t, result{stdout: s.stdout.String(), stderr: s.stderr.String()})
	return s.code
}

// login runs a credentials journey over the journey API and returns the
// final answer.
func login(t *testing.T, base, realm, journey, user, password string) map[string]any {
	t.Helper()
	url := fmt.Sprintf("http://%s/api/v1/realms/%s/journeys/%s/authenticate", base, realm, journey)
	resp := postJSON(t, url, map[string]any{})
	for i := 0; i < 10; i++ {
		if _, done := resp["outcome"]; done {
			return resp
		}
		cbs, _ := resp["callbacks"].([]any)
		if len(cbs) == 0 {
			t.Fatalf("suspended answer without callbacks: %v", resp)
		}
		var answers []map[string]any
		for _, c := range cbs {
			cb := c.(map[string]any)
			switch cb["type"] {
			case "name":
				cb["value"] = user
			case "password":
				cb["value"] = password
			default:
				t.Fatalf("unexpected callback %v", cb)
			}
			answers = append(answers, cb)
		}
		resp = postJSON(t, url, map[string]any{"session": resp["session"], "callbacks": answers})
	}
	t.Fatalf("journey did not finish: %v", resp)
	return nil
}

func postJSON(t *testing.T, url string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, data)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, data)
	}
	return out
}
