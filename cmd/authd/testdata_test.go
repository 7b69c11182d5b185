package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is where testdata/ and examples/ live; the dsl goldens name
// files relative to it.
const repoRoot = "../.."

// exampleEnv sets the variables the examples and testdata read with env().
var exampleEnv = []string{
	"FORTIGATE_SECRET=fortigate-shared-secret-value",
	"GRAFANA_SECRET=grafana-client-secret-value",
	"TW_SID=AC0123456789",
	"TW_TOKEN=twilio-token-value",
	"G_ID=google-client-id",
	"G_SECRET=google-client-secret-value",
	"STORE_KEY=store-encryption-key-value",
	"WEBAPP_SECRET=webapp-client-secret-value", // examples/oidc
	"PORTAL_SECRET=portal-api-client-secret-value",
	"PORTAL_CALLBACK_PASSWORD=portal-callback-password-value",
}

func secretValues() []string {
	out := []string{"literal-secret-value"}
	for _, kv := range exampleEnv {
		_, v, _ := strings.Cut(kv, "=")
		if strings.Contains(kv, "SECRET") || strings.Contains(kv, "TOKEN") || strings.Contains(kv, "KEY") {
			out = append(out, v)
		}
	}
	return out
}

// TestValidateTestdataInvalid runs `authd validate` on every invalid case
// of testdata/: the exit code follows the diagnostics, the output is the
// golden the dsl package checks (plus the summary line) where the case
// does not depend on the environment, and no secret is ever printed.
func TestValidateTestdataInvalid(t *testing.T) {
	dir := filepath.Join(repoRoot, "testdata", "invalid")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Skipf("no testdata: %v", err)
	}
	e := env{dir: repoRoot, vars: exampleEnv}
	for _, ent := range ents {
		name := ent.Name()
		if strings.HasSuffix(name, ".golden") || strings.HasPrefix(name, ".") {
			continue
		}
		base := strings.TrimSuffix(strings.TrimSuffix(name, ".json"), ".hcl")
		golden, err := os.ReadFile(filepath.Join(dir, base+".golden"))
		if err != nil {
			continue
		}
		path := "testdata/invalid/" + name
		t.Run(base, func(t *testing.T) {
			hasErrors := strings.HasPrefix(string(golden), "Error: ") || strings.Contains(string(golden), "\nError: ")
			var r result
			switch {
			case strings.HasPrefix(base, "run_"):
				// RequireEnv cases: authd run refuses to start.
				r = e.run(t, "run", "-config", path, "-data", t.TempDir(), "-listen", "127.0.0.1:0")
				r.want(t, 1, nil, []string{firstSummary(string(golden))})
			default:
				args := []string{"validate", path}
				if strings.HasPrefix(base, "strict_") {
					args = []string{"validate", "-strict", path}
				}
				r = e.run(t, args...)
				code := 0
				if hasErrors {
					code = 1
				}
				r.want(t, code, []string{firstSummary(string(golden))}, nil)
				if !usesEnv(t, filepath.Join(dir, name)) {
					got := r.stdout[:strings.LastIndex(strings.TrimSuffix(r.stdout, "\n"), "\n")+1]
					if got != string(golden) {
						t.Errorf("validate output differs from %s.golden\n--- got ---\n%s\n--- want ---\n%s", base, got, golden)
					}
				}
			}
			for _, s := range secretValues() {
				if strings.Contains(r.stdout+r.stderr, s) {
					t.Fatalf("secret %q printed:\n%s", s, r)
				}
			}
		})
	}
}

// firstSummary is the first "Error: ..." or "Warning: ..." line of a golden.
func firstSummary(golden string) string {
	for _, l := range strings.Split(golden, "\n") {
		if strings.HasPrefix(l, "Error: ") || strings.HasPrefix(l, "Warning: ") {
			return l
		}
	}
	return ""
}

// usesEnv reports whether a case reads the environment (its diagnostics
// then depend on the variables set).
func usesEnv(t *testing.T, path string) bool {
	found := false
	filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), "env(") {
				found = true
			}
		}
		return nil
	})
	return found
}

func TestValidateTestdataValid(t *testing.T) {
	ents, err := os.ReadDir(filepath.Join(repoRoot, "testdata", "valid"))
	if err != nil {
		t.Skipf("no testdata: %v", err)
	}
	e := env{dir: repoRoot, vars: exampleEnv}
	for _, ent := range ents {
		t.Run(ent.Name(), func(t *testing.T) {
			e.run(t, "validate", "testdata/valid/"+ent.Name()).want(t, 0, []string{"configuration valid"}, nil)
		})
	}
}

// TestExamples: every example validates, is formatted, and the quick start
// runs (see TestQuickstart).
func TestExamples(t *testing.T) {
	ents, err := os.ReadDir(filepath.Join(repoRoot, "examples"))
	if err != nil {
		t.Skipf("no examples: %v", err)
	}
	e := env{dir: repoRoot, vars: exampleEnv}
	for _, ent := range ents {
		if !ent.IsDir() || !hasConfigFiles(filepath.Join(repoRoot, "examples", ent.Name())) {
			continue // examples/ci holds CI files, not a configuration
		}
		p := "examples/" + ent.Name()
		t.Run(ent.Name(), func(t *testing.T) {
			e.run(t, "validate", p).want(t, 0, []string{"configuration valid"}, nil)
			e.run(t, "fmt", "-check", p).want(t, 0, nil, nil)
		})
	}
}

func TestGraphGolden(t *testing.T) {
	for _, format := range []string{"mermaid", "dot"} {
		want, err := os.ReadFile(filepath.Join(repoRoot, "testdata", "graph", "vpn."+format))
		if err != nil {
			t.Skipf("no graph golden: %v", err)
		}
		r := env{dir: repoRoot, vars: exampleEnv}.run(t, "graph", "-journey", "vpn", "-format", format, "examples/reference")
		r.want(t, 0, nil, nil)
		if r.stdout != string(want) && r.stdout != string(want)+"\n" {
			t.Errorf("%s graph differs from the golden:\n%s", format, r.stdout)
		}
	}
}
