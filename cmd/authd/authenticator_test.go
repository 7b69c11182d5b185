package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// pushWebConfig is examples/push-web on a free port and without
// public_url, so the server must tell devices the address it really got.
func pushWebConfig(t *testing.T, dir string) {
	t.Helper()
	b, err := os.ReadFile("../../examples/push-web/authd.hcl")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(b), `listen = "127.0.0.1:9000"`, `listen = "127.0.0.1:0"`, 1)
	src = regexp.MustCompile(`(?m)^\s*public_url\s*=.*$`).ReplaceAllString(src, "")
	writeFiles(t, dir, map[string]string{"authd.hcl": src})
}

// TestAuthenticatorPushLogin is the quick start's push login on one
// machine: authd run with examples/push-web, a user, the journey API, and
// `authd authenticator` enrolling and answering with number matching.
func TestAuthenticatorPushLogin(t *testing.T) {
	dir := shortDir(t)
	pushWebConfig(t, dir)
	state := filepath.Join(dir, "phone.json")
	e := env{dir: dir, stdin: "pw-alice-123\n"}
	e.run(t, "user", "add", "-realm", "corp", "-password-stdin", "alice").want(t, 0, []string{"added user alice"}, nil)
	srv := env{dir: dir}.startServer(t)
	defer srv.stop()

	api := fmt.Sprintf("http://%s/api/v1/realms/corp/journeys/push/authenticate", srv.addr)
	r := postJSON(t, api, map[string]any{})
	session := r["session"].(string)
	step := func(cbs ...map[string]any) map[string]any {
		t.Helper()
		if cbs == nil {
			cbs = []map[string]any{}
		}
		return postJSON(t, api, map[string]any{"session": session, "callbacks": cbs})
	}
	cb := func(r map[string]any, typ string) map[string]any {
		t.Helper()
		for _, c := range r["callbacks"].([]any) {
			if m := c.(map[string]any); m["type"] == typ {
				return m
			}
		}
		t.Fatalf("no %s callback in %v", typ, r)
		return nil
	}
	r = step(map[string]any{"id": "username", "value": "alice"}, map[string]any{"id": "password", "value": "pw-alice-123"})
	if r["node"] != "options" {
		t.Fatalf("a user without a device: %v", r)
	}
	r = step(map[string]any{"id": "choice", "value": "register"})
	uri := cb(r, "qr")["uri"].(string)
	if !strings.Contains(uri, "url=http%3A%2F%2F"+strings.ReplaceAll(srv.addr, ":", "%3A")) {
		t.Errorf("the enrolment URI does not carry the address the server got: %s", uri)
	}
	// The URI on stdin keeps the secret out of the process list.
	env{dir: dir, stdin: uri + "\n"}.run(t, "authenticator", "enroll", "-state", state, "-").want(t, 0, []string{"enrolled alice@corp (Example Corp)"}, nil)
	if fi, err := os.Stat(state); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", fi, err)
	}
	// The code is good once; the error says what to do.
	env{dir: dir, stdin: uri + "\n"}.run(t, "authenticator", "enroll", "-state", state, "-").
		oneLineErr(t, "enrolment refused: the enrolment code was already used; start the registration again at the sign-in for a new code")
	r = step()
	if r["node"] != "codes" {
		t.Fatalf("after enrolment, want the recovery codes: %v", r)
	}
	r = step()
	number := cb(r, "text")["challenge_number"]
	if r["node"] != "wait" || number == nil {
		t.Fatalf("want the push wait with a number: %v", r)
	}
	n := fmt.Sprint(number)
	e = env{dir: dir}
	e.run(t, "authenticator", "pending", "-state", state).want(t, 0, []string{"Sign-in to Example Corp as alice", "number matching", n}, nil)
	e.run(t, "authenticator", "approve", "-state", state).oneLineErr(t, "pass -number")
	e.run(t, "authenticator", "approve", "-state", state, "-number", n).want(t, 0, []string{"approved the sign-in of alice@corp"}, nil)
	if r = step(); r["outcome"] != "success" || r["user"] != "alice" {
		t.Fatalf("after approval: %v", r)
	}
	e.run(t, "authenticator", "pending", "-state", state).want(t, 0, []string{"no pending pushes"}, nil)
	e.run(t, "authenticator", "approve", "-state", state).oneLineErr(t, "no pending push")
	e.run(t, "authenticator", "list", "-state", state).want(t, 0, []string{"alice@corp", srv.addr}, nil)

	// A second sign-in, denied and reported from the command line: the
	// login fails and the audit log marks the attempt.
	session = postJSON(t, api, map[string]any{})["session"].(string)
	if r = step(map[string]any{"id": "username", "value": "alice"}, map[string]any{"id": "password", "value": "pw-alice-123"}); r["node"] != "wait" {
		t.Fatalf("a user with a device goes to the push wait: %v", r)
	}
	e.run(t, "authenticator", "deny", "-state", state, "-report").want(t, 0, []string{"denied"}, nil)
	if r = step(); r["outcome"] != "failure" {
		t.Fatalf("after a denial: %v", r)
	}
	e.run(t, "audit", "-kind", "push_reported").want(t, 0, []string{"alice"}, nil)

	// The running server serves the device ops on its admin socket, and
	// checks realms itself: no warning that they are not, even where no
	// configuration is found; and they are checked.
	e.run(t, "device", "list", "-realm", "corp", "alice").want(t, 0, []string{"authd authenticator", "poll", "active"}, nil)
	elsewhere := env{dir: shortDir(t)}
	r2 := elsewhere.run(t, "device", "list", "-realm", "corp", "-data", filepath.Join(dir, "data"), "alice")
	r2.want(t, 0, []string{"authd authenticator"}, nil)
	if strings.Contains(r2.stderr, "warning") {
		t.Errorf("a warning through the running server:\n%s", r2)
	}
	elsewhere.run(t, "device", "list", "-realm", "crop", "-data", filepath.Join(dir, "data"), "alice").oneLineErr(t, `did you mean "corp"`)
	e.run(t, "device", "delete", "-realm", "corp", "alice").want(t, 0, []string{"deleted 1 device of alice"}, nil)
	e.run(t, "device", "list", "-realm", "corp", "alice").want(t, 0, []string{"alice has no push device"}, nil)
	// The deleted device can no longer fetch.
	e.run(t, "authenticator", "pending", "-state", state).oneLineErr(t, "unknown_device")
	e.run(t, "audit", "-kind", "enrollment").want(t, 0, []string{"alice"}, nil)
	e.run(t, "audit", "-kind", "device_removed").want(t, 0, []string{"alice"}, nil)
}

func TestAuthenticatorUsageAndCodes(t *testing.T) {
	dir := shortDir(t)
	state := filepath.Join(dir, "s.json")
	e := env{dir: dir, vars: []string{"HOME=" + dir}}
	e.run(t, "authenticator").want(t, 2, nil, []string{"enroll", "approve"})
	e.run(t, "authenticator", "aprove").want(t, 2, nil, []string{`did you mean "approve"`})
	e.run(t, "authenticator", "list").want(t, 0, []string{"no accounts in " + filepath.Join(dir, ".authd-authenticator.json")}, nil)
	e.run(t, "authenticator", "code", "-state", state).want(t, 0, []string{"no OTP tokens"}, nil)
	e.run(t, "authenticator", "pending", "-state", state).oneLineErr(t, "no push accounts")
	e.run(t, "authenticator", "enroll", "-state", state, "authd://enroll?v=1").oneLineErr(t, "secret")
	e.run(t, "authenticator", "enroll", "-state", state).want(t, 2, nil, []string{"one enrolment URI"})
	e.run(t, "authenticator", "enroll", "-state", state, "otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=Example").
		want(t, 0, []string{"added OTP token Example:alice"}, nil)
	r := e.run(t, "authenticator", "code", "-state", state)
	r.want(t, 0, []string{"Example:alice", "valid for"}, nil)
	if !regexp.MustCompile(`\b\d{6}\b`).MatchString(r.stdout) {
		t.Errorf("no 6-digit code in %q", r.stdout)
	}
	if err := os.Chmod(state, 0o644); err != nil {
		t.Fatal(err)
	}
	e.run(t, "authenticator", "code", "-state", state).oneLineErr(t, "chmod 600")
}

func TestDeviceCommandOffline(t *testing.T) {
	dir := shortDir(t)
	pushWebConfig(t, dir)
	e := env{dir: dir}
	e.run(t, "device", "list", "-realm", "corp", "alice").oneLineErr(t, "no store")
	env{dir: dir, stdin: "pw-alice-123\n"}.run(t, "user", "add", "-realm", "corp", "-password-stdin", "alice").want(t, 0, nil, nil)
	e.run(t, "device", "list", "-realm", "corp", "alice").want(t, 0, []string{"alice has no push device in realm corp"}, nil)
	e.run(t, "device", "list", "-realm", "crop", "alice").oneLineErr(t, `did you mean "corp"`)
	e.run(t, "device", "delete", "-realm", "corp", "alice").oneLineErr(t, "has no push device")
	e.run(t, "device", "delete", "-realm", "corp", "-id", "nope", "alice").oneLineErr(t, `no device "nope"`)
	e.run(t, "device", "list", "-realm", "corp").want(t, 2, nil, []string{"a user name is required"})
	e.run(t, "device").want(t, 2, nil, []string{"list", "delete"})
}
