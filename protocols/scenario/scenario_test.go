package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// repoRoot is where testdata/ and examples/ live. The tests run from it
// so file names in reports read as a user sees them.
const repoRoot = "../.."

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "scenario", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

func load(t *testing.T, dir string) (*dsl.Config, *Suite) {
	t.Helper()
	cfg, s, files, diags := Load(dir, dsl.Options{})
	if diags.HasErrors() {
		var b bytes.Buffer
		_ = dsl.WriteDiagnostics(&b, diags, files, "text", 0)
		t.Fatalf("loading %s:\n%s", dir, b.String())
	}
	return cfg, s
}

func runDir(t *testing.T, dir string) *Report {
	t.Helper()
	cfg, s := load(t, dir)
	return NewRunner(cfg, s, Options{}).Run(context.Background())
}

func report(t *testing.T, rep *Report, format string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, rep, WriteOptions{Format: format, Cover: true}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGoldenReports runs the testdata suites and compares the reports:
// "fail" holds scenarios that must fail, each showing how its failure
// reads (where the paths part, which prompt was shown); "factors" every
// second factor the runner simulates.
func TestGoldenReports(t *testing.T) {
	t.Chdir(repoRoot)
	for _, c := range []struct {
		dir      string
		failures int
	}{{"fail", 7}, {"factors", 0}} {
		t.Run(c.dir, func(t *testing.T) {
			rep := runDir(t, filepath.Join("testdata", "scenario", c.dir))
			if got := rep.Failed(); got != c.failures {
				t.Errorf("%d scenarios failed, want %d", got, c.failures)
			}
			golden(t, c.dir+".txt.golden", report(t, rep, "text"))
			if c.dir == "fail" {
				golden(t, c.dir+".json.golden", report(t, rep, "json"))
				golden(t, c.dir+".junit.golden", report(t, rep, "junit"))
			}
		})
	}
}

// TestExamplesPass runs every example directory's scenarios: the
// examples and their scenarios must agree (make test runs them through
// authd test as well).
func TestExamplesPass(t *testing.T) {
	t.Chdir(repoRoot)
	ents, err := os.ReadDir("examples")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		dir := filepath.Join("examples", e.Name())
		if !e.IsDir() || !hasConfig(dir) {
			continue
		}
		files, _ := Find(dir)
		if len(files) == 0 {
			t.Errorf("%s has no scenarios (*%s)", dir, dsl.TestFileSuffix)
			continue
		}
		n++
		rep := runDir(t, dir)
		if rep.Failed() > 0 {
			t.Errorf("%s:\n%s", dir, report(t, rep, "text"))
		}
	}
	if n == 0 {
		t.Fatal("no example directories")
	}
}

// hasConfig reports whether dir holds configuration files (examples/ci
// holds none).
func hasConfig(dir string) bool {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".hcl") && !dsl.IsTestFile(e.Name()) {
			return true
		}
	}
	return false
}

// TestWrongOutcomeFails is the runner's own failure mode: a scenario
// expecting the wrong outcome must fail, and say where the paths part.
func TestWrongOutcomeFails(t *testing.T) {
	t.Chdir(repoRoot)
	cfg, s := load(t, filepath.Join("testdata", "scenario", "fail"))
	var sc *Scenario
	for _, x := range s.Scenarios {
		if x.Name == "wrong outcome: the password is wrong" {
			sc = x
		}
	}
	if sc == nil {
		t.Fatal("scenario missing")
	}
	res := NewRunner(cfg, s, Options{}).RunScenario(context.Background(), sc)
	if res.Passed() {
		t.Fatal("a scenario expecting success of a wrong password passed")
	}
	var msgs []string
	for _, f := range res.Failures {
		msgs = append(msgs, f.Message)
		if f.Range.Filename == "" || f.Range.Start.Line == 0 {
			t.Errorf("failure %q has no position", f.Message)
		}
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"outcome: want success, got failure", "the paths part after check (node 3): want office, got (end)"} {
		if !strings.Contains(all, want) {
			t.Errorf("failures lack %q:\n%s", want, all)
		}
	}
	if got := strings.Join(res.Path, ","); got != "login,check" {
		t.Errorf("path %s", got)
	}
}

// TestDiagnosticsGolden: mistakes in scenario files are reported with
// file, line and column, all at once, in source order.
func TestDiagnosticsGolden(t *testing.T) {
	t.Chdir(repoRoot)
	_, _, files, diags := Load(filepath.Join("testdata", "scenario", "diagnostics"), dsl.Options{})
	if !diags.HasErrors() {
		t.Fatal("no errors")
	}
	for _, d := range diags {
		if d.Subject == nil || d.Subject.Start.Line == 0 {
			t.Errorf("diagnostic %q has no position", d.Summary)
		}
	}
	var b bytes.Buffer
	if err := dsl.WriteDiagnostics(&b, diags, files, "text", 0); err != nil {
		t.Fatal(err)
	}
	golden(t, "diagnostics.txt.golden", b.Bytes())
}

func TestNoScenarioFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.hcl"), []byte(`realm "r" {}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, _, diags := Load(dir, dsl.Options{})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "No scenario files") {
		t.Fatalf("got %v", diags)
	}
}

func TestFindTestsDir(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a.hcl", "x.authtest.hcl", "tests/y.authtest.hcl", "tests/z.hcl", ".hidden.authtest.hcl"} {
		full := filepath.Join(dir, p)
		_ = os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Find(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "tests", "y.authtest.hcl"), filepath.Join(dir, "x.authtest.hcl")}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("Find = %v, want %v", got, want)
	}
}

func TestPathDiff(t *testing.T) {
	for _, c := range []struct {
		want, got []string
		out       string
	}{
		{[]string{"a", "b", "c"}, []string{"a", "b", "c"}, "  a|  b|  c"},
		{[]string{"a", "b", "c"}, []string{"a", "x", "c"}, "  a|- b|+ x|  c"},
		{[]string{"a", "b"}, []string{"a"}, "  a|- b"},
		{nil, []string{"a"}, "+ a"},
	} {
		if got := strings.Join(PathDiff(c.want, c.got), "|"); got != c.out {
			t.Errorf("PathDiff(%v, %v) = %q, want %q", c.want, c.got, got, c.out)
		}
	}
	if got := partingText([]string{"a", "b"}, []string{"a", "c"}); !strings.Contains(got, "after a (node 2): want b, got c") {
		t.Errorf("partingText: %s", got)
	}
}

func TestParseDevice(t *testing.T) {
	for in, want := range map[string]Device{
		"approve": {Action: DeviceApprove}, "Deny": {Action: DeviceDeny}, "ignore": {Action: DeviceIgnore},
		"pick 42": {Action: DevicePick, Number: 42}, " pick  7 ": {Action: DevicePick, Number: 7},
	} {
		got, err := ParseDevice(in)
		if err != nil || got != want {
			t.Errorf("ParseDevice(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "yes", "pick", "pick x", "pick 100", "approve now"} {
		if _, err := ParseDevice(bad); err == nil {
			t.Errorf("ParseDevice(%q) accepted", bad)
		}
	}
}

// TestPhones checks the simulation's rules: answers at arrival, number
// matching, expiry, cancellation and enrollment_mode.
func TestPhones(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	prog := &engine.Program{Realms: map[string]*engine.Realm{
		"one":  {Name: "one", EnrollmentMode: "single_device"},
		"many": {Name: "many", EnrollmentMode: "multiple_devices"},
	}}
	ph := newPhones(prog, Device{})
	realm := prog.Realms["one"]
	send := func(typ string) *engine.PushTicket {
		t.Helper()
		tk, err := ph.Send(ctx, &engine.PushRequest{Realm: realm, User: "u", Type: typ, Now: now, Expires: now.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	state := func(id string, at time.Time) string {
		t.Helper()
		st, err := ph.PushStatus(ctx, "one", "u", id, at)
		if err != nil {
			t.Fatal(err)
		}
		return st.State + "/" + st.Reason
	}
	if _, err := ph.Send(ctx, &engine.PushRequest{Realm: realm, User: "u", Now: now, Expires: now.Add(time.Minute)}); engine.PushErrorReason(err) != engine.PushReasonNotRegistered {
		t.Fatalf("send without a device: %v", err)
	}
	_ = ph.Enroll("one", "u", now)

	ignored := send(engine.PushTap)
	if got := state(ignored.MessageID, now); got != "pending/" {
		t.Fatalf("ignored push: %s", got)
	}
	if got := state(ignored.MessageID, now.Add(time.Minute)); got != "expired/" {
		t.Fatalf("after its expiry: %s", got)
	}
	pending := send(engine.PushTap)
	ph.Behave(Device{Action: DeviceApprove}, now)
	if got := state(pending.MessageID, now); got != "approved/" {
		t.Fatalf("approve applies to a pending push: %s", got)
	}
	ph.Behave(Device{Action: DevicePick, Number: 1}, now)
	wrong := send(engine.PushChallenge)
	if wrong.ChallengeNumber < 10 || wrong.ChallengeNumber > 99 {
		t.Fatalf("challenge number %d", wrong.ChallengeNumber)
	}
	if got := state(wrong.MessageID, now); got != "denied/wrong_number" {
		t.Fatalf("wrong number: %s", got)
	}
	ph.Behave(Device{Action: DeviceIgnore}, now)
	right := send(engine.PushChallenge)
	ph.Behave(Device{Action: DevicePick, Number: right.ChallengeNumber}, now)
	if got := state(right.MessageID, now); got != "approved/" {
		t.Fatalf("right number: %s", got)
	}
	ph.Behave(Device{Action: DeviceIgnore}, now)
	cancelled := send(engine.PushTap)
	_ = ph.CancelPush(ctx, "one", "u", cancelled.MessageID, now)
	ph.Behave(Device{Action: DeviceApprove}, now)
	if got := state(cancelled.MessageID, now); got != "denied/cancelled" {
		t.Fatalf("cancelled: %s", got)
	}
	if _, err := ph.PushStatus(ctx, "one", "someone-else", cancelled.MessageID, now); engine.PushErrorReason(err) != engine.PushReasonNotFound {
		t.Fatalf("another user's push: %v", err)
	}
	if n := ph.Sent(); n != 5 {
		t.Fatalf("sent %d", n)
	}

	enrol := func(r *engine.Realm, user string) string {
		t.Helper()
		tk, err := ph.BeginEnrollment(ctx, &engine.EnrollmentRequest{Realm: r, User: user, Now: now, Expires: now.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		st, _ := ph.EnrollmentStatus(ctx, r.Name, user, tk.ID, now)
		return st.State
	}
	if got := enrol(realm, "u"); got != engine.EnrollmentRefused {
		t.Fatalf("single_device, second phone: %s", got)
	}
	if got := enrol(realm, "v"); got != engine.EnrollmentDone {
		t.Fatalf("first phone: %s", got)
	}
	many := prog.Realms["many"]
	if enrol(many, "w") != engine.EnrollmentDone || enrol(many, "w") != engine.EnrollmentDone {
		t.Fatal("multiple_devices refused a second phone")
	}
}

// TestJSONReportParses keeps the json format machine-readable.
func TestJSONReportParses(t *testing.T) {
	t.Chdir(repoRoot)
	rep := runDir(t, filepath.Join("testdata", "scenario", "fail"))
	var out struct {
		Passed, Failed int
		Scenarios      []struct {
			Name, Status string
			Failures     []struct {
				File string
				Line int
			}
		}
	}
	if err := json.Unmarshal(report(t, rep, "json"), &out); err != nil {
		t.Fatal(err)
	}
	if out.Passed != 1 || out.Failed != 7 || len(out.Scenarios) != 8 {
		t.Fatalf("%+v", out)
	}
	for _, sc := range out.Scenarios[1:] {
		if sc.Status != "fail" || len(sc.Failures) == 0 || sc.Failures[0].Line == 0 {
			t.Errorf("%+v", sc)
		}
	}
}

var timingRE = regexp.MustCompile(`\d+\.\d+ms`)

// TestTextTiming checks the timing column stays out of the way of names.
func TestTextTiming(t *testing.T) {
	t.Chdir(repoRoot)
	rep := runDir(t, filepath.Join("examples", "quickstart"))
	var b bytes.Buffer
	_ = Write(&b, rep, WriteOptions{Timing: true})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) < 2 || !timingRE.MatchString(lines[0]) || !strings.HasPrefix(lines[len(lines)-1], "ok   examples/quickstart") {
		t.Fatalf("%s", b.String())
	}
}

// TestUnknownNamesSayWhatWasMeant: a name a scenario file's block does not
// take gets a "did you mean" when one is close, else the names it takes.
func TestUnknownNamesSayWhatWasMeant(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"root", "colck = \"2026-01-01T00:00:00Z\"\n", `Did you mean "clock"?`},
		{"user", "user \"a\" {\n  pasword = \"x\"\n}\n", `Did you mean "password"?`},
		{"user, far", "user \"a\" {\n  colour = \"red\"\n}\n", `The arguments of user "a" are`},
		{"scenario, far", "scenario \"s\" {\n  journey = \"login\"\n  colour = \"red\"\n}\n", `The arguments of scenario "s" are`},
		{"step", "scenario \"s\" {\n  journey = \"login\"\n  step {\n    anwser = {}\n  }\n}\n", `Did you mean "answer"?`},
		{"step, far", "scenario \"s\" {\n  journey = \"login\"\n  step {\n    colour = \"red\"\n  }\n}\n", `The arguments of step are`},
		{"expect, far", "scenario \"s\" {\n  journey = \"login\"\n  expect {\n    colour = \"red\"\n  }\n}\n", `The arguments of expect are`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "a.authtest.hcl")
			if err := os.WriteFile(path, []byte(tt.src), 0o644); err != nil {
				t.Fatal(err)
			}
			_, diags := Parse(dir, []string{path})
			for _, d := range diags {
				if d.Summary == "Unsupported argument" && strings.Contains(d.Detail, tt.want) {
					return
				}
			}
			t.Errorf("no %q in %v", tt.want, diags)
		})
	}
}
