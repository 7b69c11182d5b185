package dsl

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/hashicorp/hcl/v2"

	_ "github.com/authd/authd/nodes" // registers the node types journeys use
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestMain runs every test from the repository root, so the paths in
// diagnostics and goldens read "testdata/invalid/x.hcl" as a user would
// see them.
func TestMain(m *testing.M) {
	_, file, _, _ := runtime.Caller(0)
	if err := os.Chdir(filepath.Join(filepath.Dir(file), "..")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// testEnv is the environment the tests run with: the variables the
// examples read are set, anything else is missing.
var testEnv = map[string]string{
	"FORTIGATE_SECRET": "fortigate-shared-secret-value",
	"GRAFANA_SECRET":   "grafana-client-secret-value",
	"TW_SID":           "AC0123456789",
	"TW_TOKEN":         "twilio-token-value",
	"G_ID":             "google-client-id",
	"G_SECRET":         "google-client-secret-value",
	"STORE_KEY":        "store-encryption-key-value",
}

func lookupTestEnv(name string) (string, bool) {
	v, ok := testEnv[name]
	return v, ok
}

func testOptions() Options { return Options{LookupEnv: lookupTestEnv} }

// render prints diagnostics as `authd validate` does, without colour or
// wrapping, for goldens and failure messages.
func render(t testing.TB, diags hcl.Diagnostics, files map[string]*hcl.File) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteDiagnostics(&b, diags, files, "text", 0); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestExamples(t *testing.T) {
	for _, dir := range []string{"examples/quickstart", "examples/reference"} {
		t.Run(dir, func(t *testing.T) {
			opts := testOptions()
			opts.Strict = true
			cfg, diags := Load([]string{dir}, opts)
			if len(diags) > 0 {
				t.Fatalf("%s: want no diagnostics, got:\n%s", dir, render(t, diags, cfg.Files))
			}
			if cfg.Program.Revision == "" || len(cfg.Program.Journeys) == 0 {
				t.Fatalf("%s: empty program", dir)
			}
		})
	}
}
