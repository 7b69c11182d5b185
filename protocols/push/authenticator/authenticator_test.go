package authenticator_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authd/authd/protocols/push/authenticator"
)

func TestStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s, err := authenticator.Load(path)
	if err != nil || len(s.Accounts) != 0 {
		t.Fatalf("missing file: %+v %v", s, err)
	}
	s.Add(&authenticator.Account{Server: "https://a", Realm: "corp", User: "alice", DeviceID: "d1", Key: "k1"})
	s.Add(&authenticator.Account{Server: "https://a", Realm: "corp", User: "bob", DeviceID: "d2", Key: "k2"})
	s.Add(&authenticator.Account{Server: "https://a", Realm: "corp", User: "alice", DeviceID: "d3", Key: "k3"})
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi.Mode(), err)
	}
	got, err := authenticator.Load(path)
	if err != nil || len(got.Accounts) != 2 || got.Accounts[0].DeviceID != "d3" {
		t.Fatalf("reloaded %+v %v", got, err)
	}
	if _, err := got.Accounts[0].PrivateKey(); err == nil {
		t.Error("a garbage key decoded")
	}
	os.Chmod(path, 0o644)
	if _, err := authenticator.Load(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable state file: %v", err)
	}
}

func TestServerErrorText(t *testing.T) {
	tests := []struct {
		err  authenticator.ServerError
		want string
	}{
		{authenticator.ServerError{Status: 410, Code: "expired", Message: "the enrolment code expired"}, "the enrolment code expired"},
		{authenticator.ServerError{Status: 404, Code: "unknown_device", Message: "unknown device"}, "unknown device"},
		{authenticator.ServerError{Status: 400, Code: "wrong_number", Message: "that is not the number shown"}, "that is not the number shown (wrong_number)"},
		{authenticator.ServerError{Status: 502, Code: "bad_gateway"}, "server answered 502 bad_gateway"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.err, got, tt.want)
		}
	}
}
