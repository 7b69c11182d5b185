package radius

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// radclient runs FreeRADIUS's radclient (Debian: freeradius-utils, which
// `make test` installs through .ci/install-tools) against the test server:
// the real client NASes are tested with.
func (e *env) radclient(attrs string, extra ...string) (string, error) {
	e.t.Helper()
	return e.radclientCmd("auth", attrs, extra...)
}

func (e *env) radclientCmd(command, attrs string, extra ...string) (string, error) {
	e.t.Helper()
	path, err := exec.LookPath("radclient")
	if err != nil {
		e.t.Skip("radclient not found: apt-get install freeradius-utils (make test installs it)")
	}
	raddb := e.t.TempDir()
	// radclient wants a user dictionary in its raddb; the main one comes
	// from /usr/share/freeradius and holds every vendor.
	if err := os.WriteFile(filepath.Join(raddb, "dictionary"), []byte("# empty\n"), 0o644); err != nil {
		e.t.Fatal(err)
	}
	args := append([]string{"-x", "-d", raddb, "-r", "1", "-t", "3"}, extra...)
	args = append(args, e.addr, command, testSecret)
	cmd := exec.Command(path, args...)
	cmd.Stdin = strings.NewReader(attrs + "\n")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var (
	receivedRe = regexp.MustCompile(`Received (Access-\w+) Id`)
	stateRe    = regexp.MustCompile(`State = (0x[0-9a-f]+)`)
)

func received(out string) string {
	m := receivedRe.FindStringSubmatch(out)
	if m == nil {
		return "no reply"
	}
	return m[1]
}

// The Message-Authenticator line makes radclient 3.2 sign the request;
// newer radclients sign by default.
const signed = `Message-Authenticator = 0x00, `

func TestRadclientAccept(t *testing.T) {
	e := newEnv(t, nil)
	out, _ := e.radclient(signed + `User-Name = "alice", User-Password = "secret"`)
	if received(out) != "Access-Accept" {
		t.Fatalf("radclient: %s\n%s", received(out), out)
	}
	for _, want := range []string{`Fortinet-Group-Name = "vpn"`, `Fortinet-Group-Name = "admins"`, `Session-Timeout = 3600`} {
		if !strings.Contains(out, want) {
			t.Errorf("radclient output lacks %s:\n%s", want, out)
		}
	}
}

func TestRadclientReject(t *testing.T) {
	e := newEnv(t, nil)
	out, _ := e.radclient(signed + `User-Name = "alice", User-Password = "wrong"`)
	if received(out) != "Access-Reject" {
		t.Fatalf("radclient: %s\n%s", received(out), out)
	}
	if !strings.Contains(out, `Reply-Message = "`+DefaultRejectMessage+`"`) {
		t.Errorf("no generic Reply-Message:\n%s", out)
	}
}

func TestRadclientChallengeThenCode(t *testing.T) {
	e := newEnv(t, nil)
	out, _ := e.radclient(signed + `User-Name = "alice", User-Password = "secret", NAS-Identifier = "mfa"`)
	if received(out) != "Access-Challenge" {
		t.Fatalf("radclient: %s\n%s", received(out), out)
	}
	if !strings.Contains(out, `Fortinet-FAC-Challenge-Code = "001"`) || !strings.Contains(out, `Reply-Message = "+`) {
		t.Errorf("challenge lacks the FortiAuthenticator markers:\n%s", out)
	}
	m := stateRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no State in:\n%s", out)
	}
	out, _ = e.radclient(signed + `User-Name = "alice", User-Password = "123456", NAS-Identifier = "mfa", State = ` + m[1])
	if received(out) != "Access-Accept" {
		t.Fatalf("code answer: %s\n%s", received(out), out)
	}
}

func TestRadclientBlankAnswerPushes(t *testing.T) {
	e := newEnv(t, nil)
	out, _ := e.radclient(signed + `User-Name = "alice", User-Password = "secret", NAS-Identifier = "mfa"`)
	m := stateRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no State in:\n%s", out)
	}
	e.answerWhenWaiting("approve")
	// radclient sends no User-Password for an empty one: that is the push.
	start := time.Now()
	out, _ = e.radclient(signed+`User-Name = "alice", NAS-Identifier = "mfa", State = `+m[1], "-t", "20")
	if received(out) != "Access-Accept" {
		t.Fatalf("blank answer: %s\n%s", received(out), out)
	}
	if time.Since(start) > 15*time.Second { // the wait itself is 30 s
		t.Errorf("the hold was not released by the wake:\n%s", out)
	}
}

func TestRadclientWithoutMessageAuthenticatorDropped(t *testing.T) {
	e := newEnv(t, nil)
	out, err := e.radclient(`User-Name = "alice", User-Password = "secret"`, "-t", "1")
	if received(out) != "no reply" || err == nil {
		t.Fatalf("an unsigned request was answered (%v):\n%s", err, out)
	}
	e.waitLog("missing Message-Authenticator")
}

func TestRadclientStatusServer(t *testing.T) {
	e := newEnv(t, nil)
	out, _ := e.radclientCmd("status", signed+`NAS-Identifier = "monitor"`)
	if received(out) != "Access-Accept" {
		t.Fatalf("radclient status: %s\n%s", received(out), out)
	}
}
