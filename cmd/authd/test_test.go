package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestTestCommand runs `authd test` on the examples (which must pass) and
// on the failing testdata suite (exit 1, failures at file:line:column and
// the place where paths part), in every format.
func TestTestCommand(t *testing.T) {
	e := env{dir: repoRoot}
	for _, dir := range []string{"examples/quickstart", "examples/reference", "examples/mobile-fallback"} {
		r := e.run(t, "test", dir)
		r.want(t, 0, []string{"ok   " + dir}, nil)
	}
	r := e.run(t, "test", "-cover", "testdata/scenario/fail")
	r.want(t, 1, []string{
		"FAIL wrong outcome: the password is wrong",
		"testdata/scenario/fail/fail.authtest.hcl:31:15: outcome: want success, got failure",
		"the paths part after check (node 3): want office, got (end)",
		"       - office",
		"coverage: 9 of 10 edges followed",
		"check --locked--> failure",
		"FAIL testdata/scenario/fail  1 passed, 7 failed",
	}, nil)
	if r.stderr != "" {
		t.Fatalf("stderr: %s", r.stderr)
	}

	r = e.run(t, "test", "-format", "json", "testdata/scenario/fail")
	var rep struct {
		Passed, Failed int
		Scenarios      []struct{ Name, Status string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 1 || rep.Failed != 7 || rep.Passed != 1 {
		t.Fatalf("json: %v %+v\n%s", err, rep, r)
	}

	r = e.run(t, "test", "-format", "junit", "examples/quickstart")
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal([]byte(r.stdout), &suites); err != nil || r.code != 0 || suites.Tests != quickstartScenarios(t) || suites.Failures != 0 {
		t.Fatalf("junit: %v %+v\n%s", err, suites, r)
	}
}

// TestTestCommandErrors: diagnostics with positions, exit 1; usage errors
// exit 2; config found through -config.
func TestTestCommandErrors(t *testing.T) {
	e := env{dir: repoRoot}
	r := e.run(t, "test", "testdata/scenario/diagnostics")
	r.want(t, 1, []string{"Error: Unknown journey", "bad.authtest.hcl:35:13", `did you mean "login"?`}, []string{"the configuration or its scenarios have"})

	r = e.run(t, "test", "-format", "json", "testdata/scenario/diagnostics")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "Unknown journey") {
		t.Fatalf("diagnostics must go to stderr with -format json:\n%s", r)
	}
	e.run(t, "test", "-format", "tap", "examples/quickstart").want(t, 2, nil, []string{"-format must be one of"})
	e.run(t, "test", "a", "b").want(t, 2, nil, []string{"one configuration directory"})
	e.run(t, "test", "-h").want(t, 0, []string{"Usage: authd test", "-cover"}, nil)

	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.hcl": `realm "r" {}`})
	env{dir: dir}.run(t, "test").oneLineErr(t, "the configuration or its scenarios have 1 error")

	r = env{dir: t.TempDir()}.run(t, "test", "-config", filepath.Join(mustAbs(t, repoRoot), "examples", "quickstart"))
	r.want(t, 0, []string{fmt.Sprintf("%d scenarios", quickstartScenarios(t))}, nil)
}

// quickstartScenarios counts the scenarios of examples/quickstart.
func quickstartScenarios(t *testing.T) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "examples", "quickstart", "*.authtest.hcl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios in examples/quickstart: %v", err)
	}
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n += len(regexp.MustCompile(`(?m)^scenario "`).FindAll(b, -1))
	}
	return n
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestDiffCommand compares directories and git revisions.
func TestDiffCommand(t *testing.T) {
	e := env{dir: repoRoot, vars: []string{"WIKI_SECRET=w", "FW_SECRET=f"}}
	r := e.run(t, "diff", "testdata/diff/weaken/old", "testdata/diff/weaken/new")
	r.want(t, 0, []string{`journey "vpn" changed`, "~ edge check --locked--> failure, now --> success", "8 changes weakening security"}, nil)
	if strings.Contains(r.stdout, "correct-horse") {
		t.Fatal("a literal secret was printed")
	}
	e.run(t, "diff", "-strict", "testdata/diff/weaken/old", "testdata/diff/weaken/new").want(t, 1, []string{"! relying_party"}, nil)
	e.run(t, "diff", "-strict", "testdata/diff/same/old", "testdata/diff/same/new").want(t, 0, []string{"no changes in meaning"}, nil)

	r = e.run(t, "diff", "-format", "markdown", "testdata/diff/inner/old", "testdata/diff/inner/new")
	r.want(t, 0, []string{"### authd diff: testdata/diff/inner/old → testdata/diff/inner/new", "> [!WARNING]", "```mermaid", "linkStyle 4 stroke:#28a745"}, nil)

	// git:REV is the other argument's directory at that revision; the
	// testdata is committed, so HEAD holds the same configuration.
	e.run(t, "diff", "git:HEAD", "testdata/diff/same/old").want(t, 0, []string{"no changes in meaning"}, nil)
	e.run(t, "diff", "git:HEAD:testdata/diff/weaken/old", "testdata/diff/weaken/new").want(t, 0, []string{"8 changes weakening security"}, nil)
	e.run(t, "diff", "git:HEAD:testdata/diff/no-such-dir", "testdata/diff/inner/old").want(t, 0, []string{`journey "web" added`}, nil)
	e.run(t, "diff", "git:no-such-revision", "testdata/diff/same/old").oneLineErr(t, `git knows no revision "no-such-revision"`)
	// A directory with no configuration: empty at a revision, an error
	// when named as it is now (authd diff git:main . at a repository's root).
	e.run(t, "diff", "git:HEAD:testdata/diff", "testdata/diff/inner/old").want(t, 0, []string{`journey "web" added`}, nil)
	e.run(t, "diff", "git:HEAD", "testdata/diff").oneLineErr(t, "testdata/diff holds no *.hcl or *.hcl.json files: name a configuration directory, as in authd diff git:HEAD examples/quickstart")
	e.run(t, "diff", "git:HEAD:testdata/diff", "git:HEAD:testdata").oneLineErr(t, "neither git:HEAD:testdata/diff nor git:HEAD:testdata holds a configuration")

	e.run(t, "diff", "testdata/diff/same/old").want(t, 2, nil, []string{"two configurations"})
	e.run(t, "diff", "nowhere", "testdata/diff/same/old").oneLineErr(t, "nowhere is not a configuration directory")
	e.run(t, "diff", "testdata/scenario/diagnostics", "testdata/invalid").want(t, 1, nil, []string{"the configuration has"})
}
