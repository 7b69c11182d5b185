package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/dsl/diff"
)

func (c *cli) cmdDiff(args []string) error {
	fs := c.flagSet("diff", "authd diff [-format text|markdown] [-strict] OLD NEW", `
Shows what changed in meaning between two configurations: journeys, nodes
and edges added, removed or rewired, settings changed, relying parties,
RADIUS clients and policies (and their order). Formatting, comments and
file layout are no change. Changes that weaken security get a warning:
MFA no longer on every path to success, PKCE relaxed, a token lifetime
raised, a secret made literal, BlastRADIUS protections or lockout removed,
an identity provider's unverified emails trusted.

OLD and NEW are configuration directories, or git:REV for a revision of
the current repository: git:REV is the other argument's directory at REV
(git:REV:PATH names the directory), so in CI

  authd diff -format markdown git:origin/main examples/reference

compares a branch with its base. A directory missing at REV, or holding no
*.hcl files there, is an empty configuration: everything in NEW is added.

-format markdown writes a pull-request comment, with a Mermaid picture of
each changed journey (added parts green, changed amber, removed red and
dashed). The exit code is 0 whatever changed, 1 on an error, and with
-strict 1 when a change weakens security.`)
	format := fs.String("format", "text", "output `format`: text or markdown")
	strict := fs.Bool("strict", false, "exit 1 when a change weakens security")
	title := fs.String("title", "", "heading of the markdown report (default \"authd diff: OLD → NEW\")")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := oneOf("format", *format, "text", "markdown"); err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("diff takes two configurations, OLD and NEW, not %d", len(pos))
	}
	var cleanup []string
	defer func() {
		for _, d := range cleanup {
			os.RemoveAll(d)
		}
	}()
	var cfgs [2]*dsl.Config
	for i, arg := range pos {
		dir, tmp, err := c.diffSource(arg, pos[1-i])
		if tmp != "" {
			cleanup = append(cleanup, tmp)
		}
		if err != nil {
			return err
		}
		if dir == "" {
			continue // absent at that revision: an empty configuration
		}
		cfg, diags := dsl.Load([]string{dir}, dsl.Options{})
		if diags.HasErrors() {
			var errs hcl.Diagnostics
			for _, d := range diags {
				if d.Severity == hcl.DiagError {
					errs = append(errs, d)
				}
			}
			files := map[string]*hcl.File{}
			if cfg != nil {
				files = cfg.Files
			}
			dsl.WriteDiagnostics(c.stderr, errs, files, "text", 0)
			n, _ := countDiags(diags)
			return fmt.Errorf("%s: the configuration has %s (see authd validate)", arg, plural(n, "error"))
		}
		cfgs[i] = cfg
	}
	if cfgs[0] == nil && cfgs[1] == nil {
		return fmt.Errorf("neither %s nor %s holds a configuration (*.hcl files): name a configuration directory, as in authd diff git:main examples/quickstart", pos[0], pos[1])
	}
	rep := diff.Compare(cfgs[0], cfgs[1])
	if *format == "markdown" {
		t := *title
		if t == "" {
			t = fmt.Sprintf("authd diff: %s → %s", pos[0], pos[1])
		}
		err = diff.WriteMarkdown(c.stdout, rep, t)
	} else {
		err = diff.WriteText(c.stdout, rep)
	}
	if err != nil {
		return err
	}
	if *strict && len(rep.Warnings) > 0 {
		return &exitError{code: 1}
	}
	return nil
}

// diffExampleOld is the OLD argument of the command a hint suggests.
func diffExampleOld(other string) string {
	if rev, ok := strings.CutPrefix(other, "git:"); ok {
		rev, _, _ = strings.Cut(rev, ":")
		return "git:" + rev
	}
	return "git:main"
}

// diffSource turns an argument into a directory to load. git:REV[:PATH]
// is extracted from the repository into a temporary directory (returned
// as tmp, for removal); the directory is "" when PATH did not exist at
// REV.
func (c *cli) diffSource(arg, other string) (dir, tmp string, err error) {
	spec, ok := strings.CutPrefix(arg, "git:")
	if !ok {
		st, err := os.Stat(arg)
		if err != nil || !st.IsDir() {
			return "", "", fmt.Errorf("%s is not a configuration directory (or git:REV)", arg)
		}
		if !hasConfigFiles(arg) {
			// Say so before git:REV would read the same place as empty.
			return "", "", fmt.Errorf("%s holds no *.hcl or *.hcl.json files: name a configuration directory, as in authd diff %s examples/quickstart", arg, diffExampleOld(other))
		}
		return arg, "", nil
	}
	rev, path, explicit := strings.Cut(spec, ":")
	if rev == "" {
		return "", "", usagef("%s: name a revision, as git:main or git:HEAD~1", arg)
	}
	if !explicit {
		path = other
		if strings.HasPrefix(other, "git:") {
			path = "."
		}
	}
	root, err := gitOutput("", "rev-parse", "--show-toplevel")
	if err != nil {
		return "", "", fmt.Errorf("%s: not inside a git repository: %w", arg, err)
	}
	root = strings.TrimSpace(root)
	if _, err := gitOutput(root, "rev-parse", "--verify", "--quiet", rev+"^{commit}"); err != nil {
		return "", "", fmt.Errorf("%s: git knows no revision %q", arg, rev)
	}
	rel := path
	if !explicit {
		abs, err := filepath.Abs(path)
		if err != nil {
			return "", "", err
		}
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
		if r, err := filepath.EvalSymlinks(root); err == nil {
			root = r
		}
		rel, err = filepath.Rel(root, abs)
		if err != nil || strings.HasPrefix(rel, "..") {
			return "", "", fmt.Errorf("%s: %s is outside the repository %s", arg, path, root)
		}
	}
	rel = filepath.ToSlash(filepath.Clean(rel))
	if rel != "." {
		if _, err := gitOutput(root, "cat-file", "-e", rev+":"+rel); err != nil {
			return "", "", nil
		}
	}
	tmp, err = os.MkdirTemp("", "authd-diff-")
	if err != nil {
		return "", "", err
	}
	cmd := exec.Command("git", "archive", "--format=tar", rev, "--", rel)
	cmd.Dir = root
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", tmp, fmt.Errorf("git archive %s %s: %s", rev, rel, strings.TrimSpace(errb.String()))
	}
	if err := untar(&out, tmp); err != nil {
		return "", tmp, fmt.Errorf("extracting %s:%s: %w", rev, rel, err)
	}
	dir = filepath.Join(tmp, filepath.FromSlash(rel))
	if !hasConfigFiles(dir) {
		return "", tmp, nil // no configuration yet at REV: everything in the other is added
	}
	return dir, tmp, nil
}

func gitOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(errb.String()); msg != "" {
			return "", errors.New(msg)
		}
		return "", err
	}
	return out.String(), nil
}

// untar writes the regular files and directories of a tar stream below
// dir, refusing names that would land outside it.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.FromSlash(h.Name)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("unsafe path %q in the archive", h.Name)
		}
		target := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}
