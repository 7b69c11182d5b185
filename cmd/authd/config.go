package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/examples"
)

// defaultStoreFile is the store's file name when server.store.path is unset.
const defaultStoreFile = "authd.db"

// configSource says where a configuration comes from.
type configSource struct {
	paths []string // files or directories; nil means "the embedded quick start"
	// why tells the operator how the configuration was found.
	why string
}

func (s configSource) quickstart() bool { return s.paths == nil }

func (s configSource) String() string {
	if s.quickstart() {
		return "the embedded quick start"
	}
	return strings.Join(s.paths, ", ")
}

// findConfig applies the lookup order of the command line contract:
// explicit arguments, then -config, then $AUTHD_CONFIG, then the current
// directory when it holds *.hcl files. found is false when none applies.
func (c *cli) findConfig(args []string, flagValue string) (src configSource, found bool, err error) {
	switch {
	case len(args) > 0:
		src = configSource{paths: args, why: "arguments"}
	case flagValue != "":
		src = configSource{paths: []string{flagValue}, why: "-config"}
	case c.getenv("AUTHD_CONFIG") != "":
		src = configSource{paths: []string{c.getenv("AUTHD_CONFIG")}, why: "$AUTHD_CONFIG"}
	default:
		if hasConfigFiles(".") {
			return configSource{paths: []string{"."}, why: "the current directory"}, true, nil
		}
		return configSource{}, false, nil
	}
	for _, p := range src.paths {
		if _, err := os.Stat(p); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return src, false, fmt.Errorf("configuration %s (from %s) does not exist", p, src.why)
			}
			return src, false, fmt.Errorf("configuration: %w", err)
		}
	}
	return src, true, nil
}

// errNoConfig explains where a configuration was looked for.
var errNoConfig = errors.New("no configuration found: pass a directory or file, set -config or $AUTHD_CONFIG, or run in a directory holding *.hcl files")

// hasConfigFiles reports whether dir directly holds a file dsl.Load
// reads: *.hcl or *.hcl.json, not hidden, not a test scenario.
func hasConfigFiles(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		name := e.Name()
		if !e.IsDir() && !strings.HasPrefix(name, ".") && (strings.HasSuffix(name, ".hcl") || strings.HasSuffix(name, ".hcl.json")) && !dsl.IsTestFile(name) {
			return true
		}
	}
	return false
}

// loadConfig loads the configuration of src (or the embedded quick start).
func (c *cli) loadConfig(src configSource, opts dsl.Options) (*dsl.Config, hcl.Diagnostics, map[string]*hcl.File) {
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	var (
		cfg   *dsl.Config
		diags hcl.Diagnostics
	)
	if src.quickstart() {
		files, err := quickstartSources()
		if err != nil {
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Embedded quick start unreadable", Detail: err.Error()}}, nil
		}
		cfg, diags = dsl.LoadSources(files, ".", opts)
	} else {
		cfg, diags = dsl.Load(src.paths, opts)
	}
	var files map[string]*hcl.File
	if cfg != nil {
		files = cfg.Files
	}
	return cfg, diags, files
}

// quickstartSources reads the embedded quick start configuration.
func quickstartSources() (map[string][]byte, error) {
	files := map[string][]byte{}
	err := fs.WalkDir(examples.Quickstart, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(examples.Quickstart, p)
		if err != nil {
			return err
		}
		files[p] = b
		return nil
	})
	if err == nil && len(files) == 0 {
		err = errors.New("no files embedded")
	}
	return files, err
}

// countDiags returns the number of errors and warnings.
func countDiags(diags hcl.Diagnostics) (errs, warns int) {
	for _, d := range diags {
		switch d.Severity {
		case hcl.DiagError:
			errs++
		case hcl.DiagWarning:
			warns++
		}
	}
	return errs, warns
}

// plural formats "1 error" / "3 errors".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// configErrors is the one-line cause for a configuration that has errors
// (the diagnostics themselves were printed before).
func configErrors(src configSource, errs int) error {
	if src.quickstart() {
		return fmt.Errorf("the embedded quick start has %s (this is a bug)", plural(errs, "error"))
	}
	return fmt.Errorf("configuration %s has %s", src, plural(errs, "error"))
}

// dataDir applies -data, then $AUTHD_DATA, then ./data.
func (c *cli) dataDir(flagValue string) string {
	switch {
	case flagValue != "":
		return flagValue
	case c.getenv("AUTHD_DATA") != "":
		return c.getenv("AUTHD_DATA")
	}
	return "data"
}

// storePath is where the store of cfg lives inside dataDir.
func storePath(cfg *dsl.Config, dataDir string) string {
	p := ""
	if cfg != nil {
		p = cfg.Server.Store.Path
	}
	if p == "" {
		p = defaultStoreFile
	}
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dataDir, p)
}

// realmNames lists the realms of cfg, sorted.
func realmNames(cfg *dsl.Config) []string {
	if cfg == nil || cfg.Program == nil {
		return nil
	}
	names := make([]string, 0, len(cfg.Program.Realms))
	for n := range cfg.Program.Realms {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
