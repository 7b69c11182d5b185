package main

import (
	"bytes"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// secondJourney adds journey "login2" to goodConfig's realm.
const secondJourney = `journey "login2" {
  realm = realm.corp
  start = node.creds

  node "credentials" "creds" {
    next = node.check
  }
  node "password_check" "check" {
    outcomes = { success = success, failure = failure, locked = failure }
  }
}
`

// waitLog waits until the server's log holds want n times.
func (s *runningServer) waitLog(want string, n int) {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Count(s.output(), want) >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("log never showed %q %d times:\n%s", want, n, s.output())
}

func TestReload(t *testing.T) {
	e := userEnv(t)
	e.stdin = "alice-pass\n"
	e.run(t, "user", "add", "-realm", "corp", "-password-stdin", "alice").want(t, 0, nil, nil)
	e.stdin = ""
	s := e.startServer(t)

	e.run(t, "reload").want(t, 0, []string{"configuration unchanged"}, nil)

	// SIGHUP picks up a new journey.
	writeFiles(t, e.dir, map[string]string{"second.hcl": secondJourney})
	s.cmd.Process.Signal(syscall.SIGHUP)
	s.waitLog(`msg="configuration reloaded" trigger=SIGHUP`, 1)
	if got := login(t, s.addr, "corp", "login2", "alice", "alice-pass"); got["outcome"] != "success" {
		t.Fatalf("new journey after SIGHUP: %v", got)
	}

	// A broken configuration is refused; the server keeps serving.
	writeFiles(t, e.dir, map[string]string{"second.hcl": strings.Replace(secondJourney, "next = node.check", "next = node.chek", 1)})
	r := e.run(t, "reload")
	r.oneLineErr(t, "the running configuration stays")
	// It names where, as validate would.
	if !regexp.MustCompile(`the first at second\.hcl:\d+:\d+: \S`).MatchString(r.stderr) {
		t.Errorf("the refused reload does not name the first error's place:\n%s", r)
	}
	if got := login(t, s.addr, "corp", "login2", "alice", "alice-pass"); got["outcome"] != "success" {
		t.Fatalf("after a refused reload: %v", got)
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}

	// No server: reload says so.
	e.run(t, "reload").oneLineErr(t, "no running authd")
}

func TestWatch(t *testing.T) {
	e := userEnv(t)
	e.stdin = "alice-pass\n"
	e.run(t, "user", "add", "-realm", "corp", "-password-stdin", "alice").want(t, 0, nil, nil)
	e.stdin = ""
	s := e.startServer(t, "-watch")
	writeFiles(t, e.dir, map[string]string{"second.hcl": secondJourney})
	s.waitLog(`msg="configuration reloaded" trigger="file change"`, 1)
	if got := login(t, s.addr, "corp", "login2", "alice", "alice-pass"); got["outcome"] != "success" {
		t.Fatalf("new journey after a file change: %v", got)
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestPasswordPrompt types the password on a terminal (script(1) gives
// authd one): asked twice, compared, never echoed.
func TestPasswordPrompt(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("script(1) not available")
	}
	e := userEnv(t)
	// Each answer is typed only after its prompt has appeared (and a moment
	// more for echo to be switched off), so a slow machine cannot make the
	// terminal echo what was typed too early.
	prompt := func(name, first, second string) string {
		t.Helper()
		cmd := exec.Command("script", "-qec", authdBin+" user add -realm corp "+name, "/dev/null")
		cmd.Dir = e.dir
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var out bytes.Buffer
		pr, pw := io.Pipe()
		cmd.Stdout, cmd.Stderr = pw, pw
		go func() {
			buf := make([]byte, 4096)
			for {
				n, err := pr.Read(buf)
				mu.Lock()
				out.Write(buf[:n])
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		typeAfter := func(want string, count int, answer string) {
			deadline := time.Now().Add(2 * time.Minute)
			for time.Now().Before(deadline) {
				mu.Lock()
				seen := strings.Count(out.String(), want)
				mu.Unlock()
				if seen >= count {
					time.Sleep(300 * time.Millisecond)
					io.WriteString(stdin, answer+"\n")
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		typeAfter("Password:", 1, first)
		typeAfter("Repeat password:", 1, second)
		time.Sleep(300 * time.Millisecond)
		stdin.Close()
		cmd.Wait()
		pw.Close()
		mu.Lock()
		defer mu.Unlock()
		return out.String()
	}
	out := prompt("tina", "typed-secret", "typed-secret")
	if !strings.Contains(out, "Password:") || !strings.Contains(out, "Repeat password:") || !strings.Contains(out, "added user tina") {
		t.Fatalf("prompt:\n%s", out)
	}
	if strings.Contains(out, "typed-secret") {
		t.Fatalf("password echoed:\n%s", out)
	}
	out = prompt("tom", "one-secret", "other-secret")
	if !strings.Contains(out, "the passwords do not match") {
		t.Fatalf("mismatch:\n%s", out)
	}
	e.run(t, "user", "list", "-realm", "corp").want(t, 0, []string{"tina"}, nil)
	if r := e.run(t, "user", "list", "-realm", "corp"); strings.Contains(r.stdout, "tom") {
		t.Fatalf("tom was added despite the mismatch:\n%s", r)
	}
}
