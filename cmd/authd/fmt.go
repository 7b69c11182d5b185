package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/authd/authd/dsl"
)

func (c *cli) cmdFmt(args []string) error {
	fs := c.flagSet("fmt", "authd fmt [-check] [DIR|FILE...]", `
Rewrites configuration files in the canonical layout (aligned "=",
indentation, spacing), in place and keeping each file's mode, and prints the
names of the files it changed. A directory means its *.hcl files (not
recursive; *.hcl.json files are left alone); "-" formats stdin to stdout.

With -check nothing is written: the files that would change are listed and
the exit code is 1 when there is any, for CI.

Without arguments it formats -config, else $AUTHD_CONFIG, else the current
directory.`)
	check := fs.Bool("check", false, "list files that are not formatted and exit 1 if any; change nothing")
	config := fs.String("config", "", "configuration `dir`ectory (default $AUTHD_CONFIG, else .)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 1 && pos[0] == "-" {
		return c.fmtStdin()
	}
	src, found, err := c.findConfig(pos, *config)
	if err != nil {
		return err
	}
	if !found {
		return errNoConfig
	}
	files, err := hclFiles(src.paths)
	if err != nil {
		return err
	}
	var changed, broken []string
	for _, f := range files {
		ch, err := c.fmtFile(f, *check)
		if err != nil {
			broken = append(broken, f)
			continue
		}
		if ch {
			changed = append(changed, f)
			fmt.Fprintln(c.stdout, f)
		}
	}
	switch {
	case len(broken) > 0:
		return fmt.Errorf("%s could not be formatted", plural(len(broken), "file"))
	case *check && len(changed) > 0:
		return fmt.Errorf("%s not formatted (run authd fmt)", plural(len(changed), "file"))
	}
	return nil
}

// hclFiles expands directories to their *.hcl files, sorted.
func hclFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, e := range ents {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".hcl") {
				names = append(names, filepath.Join(p, e.Name()))
			}
		}
		sort.Strings(names)
		out = append(out, names...)
	}
	return out, nil
}

// fmtFile formats one file and reports whether it changed (or would).
func (c *cli) fmtFile(path string, check bool) (bool, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(c.stderr, "authd: %v\n", err)
		return false, err
	}
	out, diags := dsl.Format(src, path)
	if diags.HasErrors() {
		dsl.WriteDiagnostics(c.stderr, diags, map[string]*hcl.File{path: {Bytes: src}}, "text", 0)
		return false, diags
	}
	if bytes.Equal(src, out) {
		return false, nil
	}
	if check {
		return true, nil
	}
	if err := writeFileKeepMode(path, out); err != nil {
		fmt.Fprintf(c.stderr, "authd: %v\n", err)
		return false, err
	}
	return true, nil
}

func (c *cli) fmtStdin() error {
	src, err := io.ReadAll(io.LimitReader(c.stdin, 64<<20))
	if err != nil {
		return fmt.Errorf("reading stdin: %w", err)
	}
	out, diags := dsl.Format(src, "<stdin>")
	if diags.HasErrors() {
		dsl.WriteDiagnostics(c.stderr, diags, map[string]*hcl.File{"<stdin>": {Bytes: src}}, "text", 0)
		return fmt.Errorf("stdin could not be formatted")
	}
	_, err = c.stdout.Write(out)
	return err
}

// writeFileKeepMode replaces path's content atomically (a temporary file
// renamed over it), keeping its mode and writing through a symlink to its
// target.
func writeFileKeepMode(path string, data []byte) error {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return err
	}
	fi, err := os.Stat(real)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(real), "."+filepath.Base(real)+".fmt-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(fi.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), real)
}
