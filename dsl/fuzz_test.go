package dsl

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes, as native HCL or as JSON, through the
// whole pipeline: loading must never panic, whatever the input, and
// neither may printing its diagnostics, formatting it or drawing its
// journeys; masking secrets must not move a byte, or snippets would point
// beside their subject. The seeds are every configuration under testdata/
// and examples/.
func FuzzLoad(f *testing.F) {
	for _, root := range []string{"testdata", "examples"} {
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			json := strings.HasSuffix(path, ".hcl.json")
			if !json && !strings.HasSuffix(path, ".hcl") {
				return nil
			}
			if b, err := os.ReadFile(path); err == nil {
				f.Add(b, json)
			}
			return nil
		})
	}
	noEnv := Options{LookupEnv: func(string) (string, bool) { return "", false }}
	f.Fuzz(func(t *testing.T, src []byte, json bool) {
		name := "fuzz.hcl"
		if json {
			name = "fuzz.hcl.json"
		}
		cfg, diags := LoadSources(map[string][]byte{name: src}, "", noEnv)
		if cfg == nil {
			t.Fatal("LoadSources returned a nil Config")
		}
		// Masking secrets must leave every position where it was.
		if f := cfg.Files[name]; f != nil && (len(f.Bytes) != len(src) || bytes.Count(f.Bytes, []byte("\n")) != bytes.Count(src, []byte("\n"))) {
			t.Fatal("Config.Files moved the source's bytes or lines")
		}
		for _, format := range []string{"text", "json", "github"} {
			if err := WriteDiagnostics(io.Discard, diags, cfg.Files, format, 80); err != nil {
				t.Fatal(err)
			}
		}
		for name := range cfg.Journeys {
			for _, format := range []string{"mermaid", "dot"} {
				if _, err := Graph(cfg, name, format); err != nil {
					t.Fatal(err)
				}
			}
		}
		_, _ = Format(src, name)
	})
}
