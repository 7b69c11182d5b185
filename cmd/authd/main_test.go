package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// goodConfig is a small valid configuration: one realm, one password
// journey, a free port.
const goodConfig = `server {
  http {
    listen = "127.0.0.1:0"
  }
  store {
    path = "authd.db"
  }
}

realm "corp" {
  display_name = "Example Corp"
  lockout {
    max_failures = 3
    window       = "15m"
    duration     = "15m"
  }
}

journey "login" {
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

// configDir writes goodConfig (or the given files) into a fresh directory.
func configDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := shortDir(t)
	if files == nil {
		files = map[string]string{"authd.hcl": goodConfig}
	}
	writeFiles(t, dir, files)
	return dir
}

func TestVersion(t *testing.T) {
	e := env{dir: t.TempDir()}
	r := e.run(t, "version")
	r.want(t, 0, []string{"authd " + testVersion, "0123456789ab", "go1."}, nil)

	r = e.run(t, "version", "-format", "json")
	r.want(t, 0, nil, nil)
	var info struct{ Version, Commit, Go string }
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil {
		t.Fatalf("version -format json: %v\n%s", err, r)
	}
	if info.Version != testVersion || !strings.HasPrefix(info.Go, "go1.") || info.Commit == "" {
		t.Fatalf("version json = %+v", info)
	}
	e.run(t, "--version").want(t, 0, []string{testVersion}, nil)
}

func TestUsage(t *testing.T) {
	e := env{dir: t.TempDir()}
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{nil, 2, "", "Usage:"},
		{[]string{"help"}, 0, "Commands:", ""},
		{[]string{"-h"}, 0, "Commands:", ""},
		{[]string{"vaildate"}, 2, "", `did you mean "validate"`},
		{[]string{"validate", "-h"}, 0, "Usage: authd validate", ""},
		{[]string{"validate", "--help"}, 0, "-strict", ""},
		{[]string{"help", "run"}, 0, "Usage: authd run", ""},
		{[]string{"validate", "-format", "xml"}, 2, "", "-format must be one of"},
		{[]string{"validate", "-nope"}, 2, "", "flag provided but not defined"},
		{[]string{"graph"}, 2, "", "-journey is required"},
		{[]string{"fmt", "-h"}, 0, "-check", ""},
		{[]string{"run", "-h"}, 0, "quick start", ""},
		{[]string{"run", "extra"}, 2, "", "unexpected argument"},
		{[]string{"user"}, 2, "", "Usage: authd user"},
		{[]string{"user", "-h"}, 0, "import", ""},
		{[]string{"user", "ad"}, 2, "", `did you mean "add"`},
		{[]string{"user", "add", "bob"}, 2, "", "-realm is required"},
		{[]string{"user", "add", "bob"}, 2, "", "Run 'authd user add -h' for usage."},
		{[]string{"keys", "list", "-x"}, 2, "", "Run 'authd keys list -h' for usage."},
		{[]string{"user", "add", "-realm", "corp"}, 2, "", "a user name is required"},
		{[]string{"user", "add", "-h"}, 0, "-password-stdin", ""},
		{[]string{"user", "add", "-realm", "corp", "-password", "x", "bob"}, 2, "", "flag provided but not defined: -password"},
		{[]string{"user", "add", "-realm", "corp", "-attr", "novalue", "bob"}, 2, "", "-attr wants key=value"},
		{[]string{"user", "list", "-realm", "corp", "-format", "csv"}, 2, "", "-format must be one of"},
		{[]string{"user", "delete", "-realm", "corp", "a", "b"}, 2, "", "one name at a time"},
		{[]string{"version", "x"}, 2, "", "takes no arguments"},
		{[]string{"run", "-log-level", "loud"}, 2, "", "-log-level"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := e.run(t, tt.args...)
			var out, errs []string
			if tt.stdout != "" {
				out = []string{tt.stdout}
			}
			if tt.stderr != "" {
				errs = []string{tt.stderr}
			}
			r.want(t, tt.code, out, errs)
			// Help once, on stdout; a usage error is a line or two on
			// stderr and nothing on stdout.
			if n := strings.Count(r.stdout, "Usage:"); n > 1 {
				t.Errorf("help printed %d times:\n%s", n, r)
			}
			if tt.code == 2 && r.stdout != "" {
				t.Errorf("a usage error printed to stdout:\n%s", r)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	const secret = "hunter2-literal-secret"
	const envSecret = "env-secret-value-42"
	tests := []struct {
		name   string
		files  map[string]string
		args   []string
		vars   []string
		code   int
		stdout []string
	}{
		{name: "good", files: map[string]string{"a.hcl": goodConfig},
			code: 0, stdout: []string{"configuration valid: 1 journey, 1 realm"}},
		{name: "good file argument", files: map[string]string{"a.hcl": goodConfig}, args: []string{"a.hcl"},
			code: 0, stdout: []string{"configuration valid"}},
		{name: "AUTHD_CONFIG", files: map[string]string{"conf/a.hcl": goodConfig}, vars: []string{"AUTHD_CONFIG=conf"},
			code: 0, stdout: []string{"configuration valid"}},
		{name: "-config", files: map[string]string{"conf/a.hcl": goodConfig}, args: []string{"-config", "conf"},
			code: 0, stdout: []string{"configuration valid"}},
		{name: "syntax error", files: map[string]string{"a.hcl": "realm \"corp\" {\n  display_name = \n}\n"},
			code: 1, stdout: []string{"a.hcl", "display_name =", "1 error"}},
		{name: "unwired outcome", files: map[string]string{"a.hcl": strings.Replace(goodConfig, ", locked = failure", "", 1)},
			code: 1, stdout: []string{"locked", "error"}},
		{name: "undefined node", files: map[string]string{"a.hcl": strings.Replace(goodConfig, "next = node.check", "next = node.chek", 1)},
			code: 1, stdout: []string{"check", "error"}},
		{name: "env secret never printed", files: map[string]string{"a.hcl": goodConfig + `
radius_client "fw" {
  address = "127.0.0.1/32"
  secret  = env("FW_SECRET")
}
`}, vars: []string{"FW_SECRET=" + envSecret}, code: 0, stdout: []string{"configuration valid"}},
		{name: "literal secret warns", files: map[string]string{"a.hcl": goodConfig + `
radius_client "fw" {
  address = "127.0.0.1/32"
  secret  = "` + secret + `"
}
`}, code: 0, stdout: []string{"configuration valid", "warning"}},
		{name: "literal secret strict", files: map[string]string{"a.hcl": goodConfig + `
radius_client "fw" {
  address = "127.0.0.1/32"
  secret  = "` + secret + `"
}
`}, args: []string{"-strict"}, code: 1, stdout: []string{"error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := configDir(t, tt.files)
			r := env{dir: dir, vars: tt.vars}.run(t, append([]string{"validate"}, tt.args...)...)
			r.want(t, tt.code, tt.stdout, nil)
			for _, s := range []string{secret, envSecret} {
				if strings.Contains(r.stdout+r.stderr, s) {
					t.Fatalf("validate printed a secret:\n%s", r)
				}
			}
		})
	}
}

func TestValidateFormats(t *testing.T) {
	bad := configDir(t, map[string]string{"a.hcl": strings.Replace(goodConfig, "next = node.check", "next = node.chek", 1)})
	good := configDir(t, nil)

	r := env{dir: bad}.run(t, "validate", "-format", "json")
	r.want(t, 1, nil, nil)
	var diags []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &diags); err != nil {
		t.Fatalf("-format json does not parse as an array: %v\n%s", err, r)
	}
	if len(diags) == 0 {
		t.Fatalf("no diagnostics in JSON:\n%s", r)
	}
	if s, _ := json.Marshal(diags[0]); !strings.Contains(string(s), "error") {
		t.Fatalf("first diagnostic is not an error: %s", s)
	}

	r = env{dir: good}.run(t, "validate", "-format", "json")
	r.want(t, 0, nil, nil)
	if err := json.Unmarshal([]byte(r.stdout), &diags); err != nil || len(diags) != 0 {
		t.Fatalf("good config: want [] in JSON, got %v\n%s", err, r)
	}

	r = env{dir: bad}.run(t, "validate", "-format", "github")
	r.want(t, 1, []string{"::error "}, nil)
}

func TestValidateNoConfig(t *testing.T) {
	r := env{dir: t.TempDir()}.run(t, "validate")
	r.oneLineErr(t, "no configuration found")
	r = env{dir: t.TempDir()}.run(t, "validate", "missing-dir")
	r.oneLineErr(t, "does not exist")
}

func TestFmt(t *testing.T) {
	const ugly = "realm \"corp\" {\n     display_name=\"Example Corp\"\n  default_locale =    \"en\"\n}\n"
	dir := configDir(t, map[string]string{"a.hcl": ugly, "b.hcl": goodConfig})
	a := filepath.Join(dir, "a.hcl")
	if err := os.Chmod(a, 0o640); err != nil {
		t.Fatal(err)
	}
	e := env{dir: dir}

	r := e.run(t, "fmt", "-check")
	r.want(t, 1, []string{"a.hcl"}, []string{"1 file not formatted"})
	if strings.Contains(r.stdout, "b.hcl") {
		t.Fatalf("b.hcl is formatted but listed:\n%s", r)
	}
	if b, _ := os.ReadFile(a); string(b) != ugly {
		t.Fatal("fmt -check changed the file")
	}

	e.run(t, "fmt").want(t, 0, []string{"a.hcl"}, nil)
	b, _ := os.ReadFile(a)
	if !strings.Contains(string(b), "  display_name   = \"Example Corp\"\n  default_locale = \"en\"") {
		t.Fatalf("not formatted:\n%s", b)
	}
	if fi, _ := os.Stat(a); fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode = %v, want 0640 kept", fi.Mode().Perm())
	}
	e.run(t, "fmt", "-check").want(t, 0, nil, nil)
	e.run(t, "validate", "a.hcl").want(t, 0, nil, nil)

	// stdin to stdout
	r = env{dir: dir, stdin: ugly}.run(t, "fmt", "-")
	r.want(t, 0, []string{"display_name   = \"Example Corp\""}, nil)

	// a syntax error is reported, the file left alone
	writeFiles(t, dir, map[string]string{"c.hcl": "realm \"x\" {\n"})
	r = e.run(t, "fmt", "c.hcl")
	r.want(t, 1, nil, []string{"c.hcl"})
}

func TestGraph(t *testing.T) {
	e := env{dir: configDir(t, nil)}
	r := e.run(t, "graph", "-journey", "login")
	r.want(t, 0, []string{"creds", "check", "-->"}, nil)
	r = e.run(t, "graph", "-journey", "login", "-format", "dot")
	r.want(t, 0, []string{"digraph", "->", "check"}, nil)
	r = e.run(t, "graph", "-journey", "logn")
	r.oneLineErr(t, "logn")
}

// userEnv is a directory with goodConfig and a data directory.
func userEnv(t *testing.T) env {
	dir := configDir(t, nil)
	return env{dir: dir}
}

func TestUserCommands(t *testing.T) {
	e := userEnv(t)
	with := func(stdin string) env { e2 := e; e2.stdin = stdin; return e2 }

	with("s3cret-pass\n").run(t, "user", "add", "-realm", "corp", "-group", "vpn", "-group", "admins",
		"-email", "alice@example.com", "-phone", "+15550100", "-attr", "dept=it", "-password-stdin", "alice").
		want(t, 0, []string{"added user alice"}, nil)
	if fi, err := os.Stat(filepath.Join(e.dir, "data")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data dir: %v %v, want mode 0700", fi, err)
	}
	// flags after the name work too
	with("other-pass\n").run(t, "user", "add", "bob", "-realm", "corp", "--password-stdin").want(t, 0, nil, nil)

	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
		out   string
		err   string
	}{
		{"duplicate", "x\n", []string{"add", "-realm", "corp", "-password-stdin", "alice"}, 1, "", `user "alice" already exists`},
		{"realm typo", "x\n", []string{"add", "-realm", "crop", "-password-stdin", "carol"}, 1, "", `did you mean "corp"`},
		{"unknown realm", "x\n", []string{"list", "-realm", "elsewhere"}, 1, "", `unknown realm "elsewhere"`},
		{"empty password", "\n", []string{"add", "-realm", "corp", "-password-stdin", "carol"}, 1, "", "no password"},
		{"no terminal", "", []string{"add", "-realm", "corp", "carol"}, 1, "", "-password-stdin"},
		{"bad name", "x\n", []string{"add", "-realm", "corp", "-password-stdin", " carol"}, 1, "", "spaces"},
		{"list", "", []string{"list", "-realm", "corp"}, 0, "alice@example.com", ""},
		{"passwd", "new-pass\n", []string{"passwd", "-realm", "corp", "-password-stdin", "alice"}, 0, "password changed", ""},
		{"passwd unknown", "new-pass\n", []string{"passwd", "-realm", "corp", "-password-stdin", "nobody"}, 1, "", `no user "nobody"`},
		{"unlock", "", []string{"unlock", "-realm", "corp", "alice"}, 0, "unlocked", ""},
		{"delete", "", []string{"delete", "-realm", "corp", "bob"}, 0, "deleted user bob", ""},
		{"delete again", "", []string{"delete", "-realm", "corp", "bob"}, 1, "", `no user "bob" in realm "corp"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := with(tt.stdin).run(t, append([]string{"user"}, tt.args...)...)
			if tt.code == 1 {
				r.oneLineErr(t, tt.err)
				return
			}
			var out []string
			if tt.out != "" {
				out = []string{tt.out}
			}
			r.want(t, tt.code, out, nil)
		})
	}

	r := e.run(t, "user", "list", "-realm", "corp", "-format", "json")
	r.want(t, 0, nil, nil)
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("list -format json: %v\n%s", err, r)
	}
	if len(list) != 1 || list[0]["name"] != "alice" || list[0]["email"] != "alice@example.com" {
		t.Fatalf("list = %v", list)
	}
	if strings.Contains(r.stdout, "argon2") || strings.Contains(r.stdout, "hash") {
		t.Fatalf("list shows password hashes:\n%s", r.stdout)
	}
	if g, _ := list[0]["groups"].([]any); len(g) != 2 {
		t.Fatalf("groups = %v", list[0]["groups"])
	}
	if a, _ := list[0]["attributes"].(map[string]any); a["dept"] != "it" {
		t.Fatalf("attributes = %v", list[0]["attributes"])
	}
	// When the password was last set (the table above changed it), which
	// grants and SSO sessions signed in before it no longer outlive.
	if _, ok := list[0]["password_changed"].(string); !ok {
		t.Fatalf("no password_changed in %v", list[0])
	}

	// Nothing above put a password into the process list or the output.
	for _, s := range []string{"s3cret-pass", "new-pass", "other-pass"} {
		if strings.Contains(r.stdout+r.stderr, s) {
			t.Fatalf("password %q printed", s)
		}
	}
}

func TestUserListNoStore(t *testing.T) {
	e := userEnv(t)
	e.run(t, "user", "list", "-realm", "corp").oneLineErr(t, "no store at")
	if _, err := os.Stat(filepath.Join(e.dir, "data")); err == nil {
		t.Fatal("user list created a data directory")
	}
}

func TestUserWithoutConfig(t *testing.T) {
	dir := shortDir(t)
	e := env{dir: dir, stdin: "pw\n"}
	r := e.run(t, "user", "add", "-realm", "anything", "-password-stdin", "zed")
	r.want(t, 0, []string{"added user zed"}, []string{"warning", "not checked"})
	e.run(t, "user", "list", "-realm", "anything").want(t, 0, []string{"zed"}, nil)
	// -data and $AUTHD_DATA pick the data directory
	env{dir: dir, vars: []string{"AUTHD_DATA=" + filepath.Join(dir, "data")}}.run(t, "user", "list", "-realm", "anything").
		want(t, 0, []string{"zed"}, nil)
	env{dir: t.TempDir()}.run(t, "user", "list", "-realm", "anything", "-data", filepath.Join(dir, "data")).
		want(t, 0, []string{"zed"}, nil)
}

// importCSV writes a CSV of users with bcrypt hashes made here.
func importCSV(t *testing.T, dir string, users map[string]string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("name,password_hash,email,groups\n")
	for name, pw := range users {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s,%s,%s@example.com,staff\n", name, h, name)
	}
	p := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUserImport(t *testing.T) {
	e := userEnv(t)
	p := importCSV(t, e.dir, map[string]string{"dave": "dave-pass", "erin": "erin-pass"})
	e.run(t, "user", "import", "-realm", "corp", p).want(t, 0, []string{"imported 2 users"}, nil)
	e.run(t, "user", "list", "-realm", "corp").want(t, 0, []string{"dave", "erin"}, nil)

	writeFiles(t, e.dir, map[string]string{"bad.csv": "name,password_hash\nfrank,plaintext\n"})
	e.run(t, "user", "import", "-realm", "corp", "bad.csv").oneLineErr(t, "bad.csv")
	e.run(t, "user", "import", "-realm", "corp", "missing.csv").oneLineErr(t, "missing.csv")

	// the imported bcrypt hash logs in
	s := e.startServer(t)
	if got := login(t, s.addr, "corp", "login", "dave", "dave-pass"); got["outcome"] != "success" {
		t.Fatalf("login with imported hash: %v", got)
	}
	if got := login(t, s.addr, "corp", "login", "dave", "wrong"); got["outcome"] != "failure" {
		t.Fatalf("wrong password: %v", got)
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

func TestRun(t *testing.T) {
	e := userEnv(t)
	with := func(stdin string) env { e2 := e; e2.stdin = stdin; return e2 }
	with("alice-pass\n").run(t, "user", "add", "-realm", "corp", "-password-stdin", "alice").want(t, 0, nil, nil)

	s := e.startServer(t)
	if got := login(t, s.addr, "corp", "login", "alice", "alice-pass"); got["outcome"] != "success" || got["user"] != "alice" {
		t.Fatalf("login: %v", got)
	}
	if got := login(t, s.addr, "corp", "login", "alice", "nope"); got["outcome"] != "failure" || got["user"] != nil {
		t.Fatalf("wrong password: %v", got)
	}
	if strings.Contains(s.output(), "alice-pass") {
		t.Fatal("the password reached the log")
	}

	// Admin commands go through the socket while run holds the store.
	with("bob-pass\n").run(t, "user", "add", "-realm", "corp", "-password-stdin", "bob").want(t, 0, []string{"added user bob"}, nil)
	if got := login(t, s.addr, "corp", "login", "bob", "bob-pass"); got["outcome"] != "success" {
		t.Fatalf("login of a user added while running: %v", got)
	}
	e.run(t, "user", "list", "-realm", "corp").want(t, 0, []string{"alice", "bob"}, nil)
	with("x\n").run(t, "user", "add", "-realm", "crop", "-password-stdin", "carol").oneLineErr(t, `did you mean "corp"`)
	with("x\n").run(t, "user", "add", "-realm", "corp", "-password-stdin", "bob").oneLineErr(t, "already exists")
	p := importCSV(t, e.dir, map[string]string{"dave": "dave-pass"})
	e.run(t, "user", "import", "-realm", "corp", p).want(t, 0, []string{"imported 1 user"}, nil)
	if got := login(t, s.addr, "corp", "login", "dave", "dave-pass"); got["outcome"] != "success" {
		t.Fatalf("login of an imported user: %v", got)
	}
	e.run(t, "reload").want(t, 0, []string{"configuration"}, nil)
	e.run(t, "backup", "backup.db").want(t, 0, []string{"backup written"}, nil)
	if fi, err := os.Stat(filepath.Join(e.dir, "backup.db")); err != nil || fi.Size() == 0 {
		t.Fatalf("backup: %v", err)
	}
	if strings.Contains(s.output(), "bob-pass") {
		t.Fatal("a password sent over the admin socket reached the log")
	}

	// A second server on the same store stops at once.
	r := e.run(t, "run")
	r.oneLineErr(t, "locked by another authd (pid ")

	// SIGTERM: clean exit, socket removed; a restart finds the users.
	if code := s.stop(); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, s.output())
	}
	if _, err := os.Stat(filepath.Join(e.dir, "data", "admin.sock")); !os.IsNotExist(err) {
		t.Fatalf("admin socket left behind: %v", err)
	}
	e.run(t, "user", "list", "-realm", "corp").want(t, 0, []string{"alice", "bob", "dave"}, nil)
	s = e.startServer(t)
	if got := login(t, s.addr, "corp", "login", "bob", "bob-pass"); got["outcome"] != "success" {
		t.Fatalf("login after restart: %v", got)
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

func TestRunErrors(t *testing.T) {
	t.Run("corrupt store", func(t *testing.T) {
		e := userEnv(t)
		writeFiles(t, e.dir, map[string]string{"data/authd.db": strings.Repeat("not a bolt file\n", 500)})
		e.run(t, "run").oneLineErr(t, "data/authd.db")
		e.run(t, "user", "list", "-realm", "corp").oneLineErr(t, "data/authd.db")
	})
	t.Run("config errors", func(t *testing.T) {
		e := env{dir: configDir(t, map[string]string{"a.hcl": strings.Replace(goodConfig, "next = node.check", "next = node.chek", 1)})}
		r := e.run(t, "run")
		r.want(t, 1, nil, []string{"has 1 error"})
	})
	t.Run("missing env", func(t *testing.T) {
		e := env{dir: configDir(t, map[string]string{"a.hcl": goodConfig + `
radius_client "fw" {
  address = "127.0.0.1/32"
  secret  = env("AUTHD_TEST_UNSET_SECRET")
}
`})}
		e.run(t, "run").want(t, 1, nil, []string{"AUTHD_TEST_UNSET_SECRET"})
	})
	t.Run("port in use", func(t *testing.T) {
		e := userEnv(t)
		s := e.startServer(t)
		e2 := env{dir: configDir(t, nil)}
		e2.run(t, "run", "-listen", s.addr).oneLineErr(t, "address already in use")
		s.stop()
	})
}

func TestQuickstart(t *testing.T) {
	dir := shortDir(t)
	e := env{dir: dir}
	// A first start that cannot bind its port creates no demo user, so
	// the start that can still shows the password.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.run(t, "run", "-data", filepath.Join(dir, "qs"), "-listen", taken.Addr().String()).oneLineErr(t, "address already in use")
	taken.Close()
	s := e.startServer(t, "-data", filepath.Join(dir, "qs"), "-listen", "127.0.0.1:0")
	out := s.waitStdout("Next:")
	for _, want := range []string{"quick start", "user:", "password:", "curl", "/api/v1/realms/"} {
		if !strings.Contains(out, want) {
			t.Fatalf("banner lacks %q:\n%s", want, s.output())
		}
	}
	user := field(t, out, "user:")
	password := field(t, out, "password:")
	realm := field(t, out, "realm:")
	journey := field(t, out, "journey:")
	if got := login(t, s.addr, realm, journey, user, password); got["outcome"] != "success" {
		t.Fatalf("quick start login: %v\n%s", got, out)
	}
	if strings.Contains(s.output()[strings.Index(s.output(), "--- stderr"):], password) {
		t.Fatal("the demo password reached the log")
	}
	// The banner's curl commands work as printed.
	if _, err := exec.LookPath("curl"); err == nil {
		var script []string
		for _, l := range strings.Split(out, "\n") {
			if l = strings.TrimSpace(l); strings.HasPrefix(l, "S=$(curl") || strings.HasPrefix(l, "curl ") {
				script = append(script, l)
			}
		}
		cmd := exec.Command("sh", "-c", strings.Join(script, "\n"))
		b, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(b), `"outcome":"success"`) {
			t.Fatalf("banner commands: %v\n%s\n%s", err, strings.Join(script, "\n"), b)
		}
	}
	quickstartPush(t, e, s.addr, user, password)
	if code := s.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	// Once: a restart prints no password.
	s = e.startServer(t, "-data", filepath.Join(dir, "qs"), "-listen", "127.0.0.1:0")
	out = s.waitStdout("user passwd")
	if strings.Contains(out, password) {
		t.Fatalf("the password was printed again:\n%s", out)
	}
	if got := login(t, s.addr, realm, journey, user, password); got["outcome"] != "success" {
		t.Fatalf("quick start login after restart: %v", got)
	}
	// The restart's banner tells how to set a new password, and its
	// command works as printed, through the running server.
	var passwd []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[1] == "user" && f[2] == "passwd" {
			passwd = f
		}
	}
	if passwd == nil {
		t.Fatalf("no passwd command in the restart's banner:\n%s", out)
	}
	passwd[0] = authdBin
	cmd := exec.Command(passwd[0], append(passwd[1:], "-password-stdin")...)
	cmd.Dir, cmd.Stdin = dir, strings.NewReader("a-new-demo-pass\n")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(passwd, " "), err, b)
	}
	if got := login(t, s.addr, realm, journey, user, "a-new-demo-pass"); got["outcome"] != "success" {
		t.Fatalf("login with the new password: %v", got)
	}
	s.stop()
}

// field returns the word after label in the banner.
func field(t *testing.T, out, label string) string {
	t.Helper()
	i := strings.Index(out, label)
	if i < 0 {
		t.Fatalf("no %q in:\n%s", label, out)
	}
	f := strings.Fields(out[i+len(label):])
	if len(f) == 0 {
		t.Fatalf("nothing after %q", label)
	}
	return f[0]
}

// quickstartPush is README's "approve a push on this machine" on the quick
// start: the push journey, its enrolment URI copied from the raw answer
// (as from curl's output) into authd authenticator, then the push
// approved with the number the login shows.
func quickstartPush(t *testing.T, e env, addr, user, password string) {
	t.Helper()
	api := "http://" + addr + "/api/v1/realms/demo/journeys/push/authenticate"
	session := postJSON(t, api, map[string]any{})["session"].(string)
	step := func(cbs ...map[string]any) string {
		t.Helper()
		if cbs == nil {
			cbs = []map[string]any{}
		}
		b, _ := json.Marshal(map[string]any{"session": session, "callbacks": cbs})
		resp, err := http.Post(api, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %d %s", api, resp.StatusCode, raw)
		}
		return string(raw)
	}
	raw := step(map[string]any{"id": "username", "value": user}, map[string]any{"id": "password", "value": password})
	uri := regexp.MustCompile(`authd://enroll\?[^"]*`).FindString(raw)
	if !strings.Contains(raw, `"node":"register"`) || !strings.Contains(uri, "&secret=") {
		t.Fatalf("a user without a phone is offered an enrolment URI with its & as they are:\n%s", raw)
	}
	state := filepath.Join(e.dir, "phone.json")
	e.run(t, "authenticator", "enroll", "-state", state, uri).want(t, 0, []string{"enrolled " + user + "@demo"}, nil)
	raw = step()
	number := regexp.MustCompile(`"challenge_number":(\d+)`).FindStringSubmatch(raw)
	if !strings.Contains(raw, `"node":"wait"`) || number == nil {
		t.Fatalf("after the enrolment, the push wait with a number:\n%s", raw)
	}
	e.run(t, "authenticator", "pending", "-state", state).want(t, 0, []string{"Sign-in to authd demo as " + user, number[1]}, nil)
	e.run(t, "authenticator", "approve", "-state", state, "-number", number[1]).want(t, 0, []string{"approved"}, nil)
	if raw = step(); !strings.Contains(raw, `"outcome":"success"`) {
		t.Fatalf("after the approval:\n%s", raw)
	}
}
