package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/protocols/scenario"
)

func (c *cli) cmdTest(args []string) error {
	fs := c.flagSet("test", "authd test [-cover] [-format text|json|junit] [DIR]", `
Runs the journey scenarios of a configuration: the *.authtest.hcl files in
DIR and in DIR/tests. Each scenario logs a fixture user in through a front
end (the journey API, RADIUS or OAuth), in process, with an in-memory store
and a clock that moves only when a step says so, and checks the outcome,
the path of nodes, the prompts, state, RADIUS reply attributes and token
claims. Nothing listens on the network and no secret is needed.

Output goes to stdout: text (one line per scenario, "ok" or "FAIL", each
failure at its file:line:column, and where an expected path and the
actual one part), json, or junit (for CI test reports). -cover adds, per
journey, the edges no scenario followed.

Without DIR it tests -config, else $AUTHD_CONFIG, else the current
directory. The exit code is 1 when a scenario fails or a file has an
error. The language is described in docs/testing.md.`)
	cover := fs.Bool("cover", false, "list, per journey, the edges no scenario followed")
	format := fs.String("format", "text", "output `format`: text, json or junit")
	config := fs.String("config", "", "configuration `dir`ectory (default $AUTHD_CONFIG, else .)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := oneOf("format", *format, "text", "json", "junit"); err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("test takes one configuration directory, not %d", len(pos))
	}
	src, found, err := c.findConfig(pos, *config)
	if err != nil {
		return err
	}
	if !found {
		return errNoConfig
	}
	dir := src.paths[0]
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("%s is not a directory: authd test takes the configuration directory its scenarios sit in", dir)
	}
	cfg, suite, files, diags := scenario.Load(dir, dsl.Options{})
	if len(diags) > 0 {
		// Diagnostics go where the report goes for text, and to stderr
		// when stdout must stay machine-readable.
		var w io.Writer = c.stdout
		if *format != "text" {
			w = c.stderr
		}
		if err := dsl.WriteDiagnostics(w, diags, files, "text", 0); err != nil {
			return fmt.Errorf("writing diagnostics: %w", err)
		}
	}
	if diags.HasErrors() {
		errs, _ := countDiags(diags)
		return fmt.Errorf("%s: the configuration or its scenarios have %s", dir, plural(errs, "error"))
	}
	rep := scenario.NewRunner(cfg, suite, scenario.Options{}).Run(context.Background())
	if err := scenario.Write(c.stdout, rep, scenario.WriteOptions{Format: *format, Cover: *cover, Timing: true}); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if rep.Failed() > 0 {
		return &exitError{code: 1}
	}
	return nil
}
