package main

import (
	"fmt"
	"os"

	"golang.org/x/term"

	"github.com/authd/authd/dsl"
)

func (c *cli) cmdValidate(args []string) error {
	fs := c.flagSet("validate", "authd validate [-strict] [-format text|json|github] [DIR|FILE...]", `
Checks a configuration: syntax, blocks and attributes, references, journey
graphs (every outcome wired, a path to success, no loop without a wait),
relying parties, RADIUS clients, literal secrets. Each problem is reported
with its file, line and column.

Without arguments it checks -config, else $AUTHD_CONFIG, else the current
directory. Environment variables named by env() need not be set: validate
checks the configuration, not the deployment (authd run requires them).

Output goes to stdout: text (with a summary line), json (an array of
diagnostics, for tools), or github (workflow annotations). The exit code is
1 when there is an error; warnings alone exit 0 unless -strict makes them
errors (all but "not set here" warnings about env() and file(), which
describe the machine, not the configuration, and warnings about a design
that may be deliberate, such as a journey that starts from a bare user
name and that anyone may start). Secret values are never printed.`)
	strict := fs.Bool("strict", false, "treat warnings as errors (except secrets missing from this environment and deliberate designs)")
	format := fs.String("format", "text", "output `format`: text, json or github")
	config := fs.String("config", "", "configuration `dir`ectory (default $AUTHD_CONFIG, else .)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := oneOf("format", *format, "text", "json", "github"); err != nil {
		return err
	}
	src, found, err := c.findConfig(pos, *config)
	if err != nil {
		return err
	}
	if !found {
		return errNoConfig
	}
	cfg, diags, files := c.loadConfig(src, dsl.Options{Strict: *strict})
	width := uint(0)
	if f, ok := c.stdout.(*os.File); ok && *format == "text" && term.IsTerminal(int(f.Fd())) {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			width = uint(w)
		}
	}
	if len(diags) > 0 || *format == "json" {
		if err := dsl.WriteDiagnostics(c.stdout, diags, files, *format, width); err != nil {
			return fmt.Errorf("writing diagnostics: %w", err)
		}
	}
	// Severities are dsl's: under Strict it makes warnings errors, except
	// those about this machine (a secret missing here), which CI lacks.
	errs, warns := countDiags(diags)
	if *format == "text" {
		switch {
		case errs > 0:
			summary := plural(errs, "error")
			if warns > 0 {
				summary += ", " + plural(warns, "warning")
			}
			fmt.Fprintln(c.stdout, summary)
		default:
			summary := "configuration valid: "
			if cfg != nil && cfg.Program != nil {
				summary += plural(len(cfg.Program.Journeys), "journey") + ", " + plural(len(cfg.Program.Realms), "realm")
			}
			if warns > 0 {
				summary += " (" + plural(warns, "warning") + ")"
			}
			fmt.Fprintln(c.stdout, summary)
		}
	}
	if errs > 0 {
		return &exitError{code: 1}
	}
	return nil
}
