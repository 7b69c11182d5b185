package dsl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// TestGolden loads each entry of testdata/invalid (a file, or a directory
// loaded as one configuration) and compares what validate prints with
// NAME.golden. Run with -update to rewrite the goldens, then review the
// diff: each golden is the contract for its check.
//
// Name prefixes choose the options: strict_ loads with Strict, run_ with
// RequireEnv (as `authd run`).
func TestGolden(t *testing.T) {
	ents, err := os.ReadDir("testdata/invalid")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, ".golden") || strings.HasPrefix(name, ".") {
			continue
		}
		base := strings.TrimSuffix(strings.TrimSuffix(name, ".json"), ".hcl")
		path := filepath.Join("testdata/invalid", name)
		golden := filepath.Join("testdata/invalid", base+".golden")
		n++
		t.Run(base, func(t *testing.T) {
			opts := testOptions()
			opts.Strict = strings.HasPrefix(base, "strict_")
			opts.RequireEnv = strings.HasPrefix(base, "run_")
			cfg, diags := Load([]string{path}, opts)
			if cfg == nil {
				t.Fatal("Load returned a nil Config")
			}
			if len(diags) == 0 {
				t.Fatalf("%s: no diagnostics; an invalid example must produce some", path)
			}
			got := render(t, diags, cfg.Files)
			for _, secret := range testEnv {
				if strings.Contains(got, secret) {
					t.Errorf("diagnostics reveal the secret %q", secret)
				}
			}
			if strings.Contains(got, "literal-secret-value") {
				t.Errorf("diagnostics reveal a literal secret:\n%s", got)
			}
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./dsl -run TestGolden -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s: diagnostics differ from %s\n--- got ---\n%s\n--- want ---\n%s", path, golden, got, want)
			}
		})
	}
	if n == 0 {
		t.Fatal("no test cases in testdata/invalid")
	}
}

// TestValid loads each entry of testdata/valid: no diagnostics at all,
// but the advisory warnings listed in validAdvisories (designs that may be
// deliberate, which -strict leaves warnings), exactly those.
func TestValid(t *testing.T) {
	ents, err := os.ReadDir("testdata/valid")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		path := filepath.Join("testdata/valid", e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			for _, strict := range []bool{false, true} {
				opts := testOptions()
				opts.Strict = strict
				cfg, diags := Load([]string{path}, opts)
				var got []string
				for _, d := range diags {
					if _, adv := d.Extra.(advisory); !adv || d.Severity != hcl.DiagWarning {
						t.Fatalf("strict=%v: want no diagnostics but advisory warnings, got:\n%s", strict, render(t, diags, cfg.Files))
					}
					got = append(got, d.Summary+": "+strings.Fields(d.Detail)[2]) // The journey "NAME" ...
				}
				if want := validAdvisories[e.Name()]; strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("strict=%v: advisory warnings\n%s\nwant\n%s", strict, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			}
		})
	}
}

// validAdvisories are the advisory warnings testdata/valid is meant to
// get, by entry: summary and the journey named.
var validAdvisories = map[string][]string{
	// "identify" (username, then success) and "passwordless" (entering
	// it) are startable on the journey API by anyone, as any user.
	"inner_journeys": {
		`Anyone can start this journey for any user: "identify"`,
		`Anyone can start this journey for any user: "passwordless"`,
	},
}
