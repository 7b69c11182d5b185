package main

import (
	"fmt"
	"strings"

	"github.com/authd/authd/dsl"
)

func (c *cli) cmdGraph(args []string) error {
	fs := c.flagSet("graph", "authd graph -journey NAME [-format mermaid|dot] [DIR]", `
Draws a journey as a graph: nodes with their types, edges labelled with
outcomes, and the success and failure terminals. mermaid output renders in
GitHub and GitLab Markdown; dot renders with Graphviz:

  authd graph -journey vpn -format dot | dot -Tsvg > vpn.svg

The configuration must be valid (see authd validate).`)
	journey := fs.String("journey", "", "the journey to draw (required)")
	format := fs.String("format", "mermaid", "output `format`: mermaid or dot")
	config := fs.String("config", "", "configuration `dir`ectory (default $AUTHD_CONFIG, else .)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *journey == "" {
		return usagef("-journey is required")
	}
	if err := oneOf("format", *format, "mermaid", "dot"); err != nil {
		return err
	}
	src, found, err := c.findConfig(pos, *config)
	if err != nil {
		return err
	}
	if !found {
		return errNoConfig
	}
	cfg, diags, files := c.loadConfig(src, dsl.Options{})
	if diags.HasErrors() || cfg == nil {
		dsl.WriteDiagnostics(c.stderr, diags, files, "text", 0)
		errs, _ := countDiags(diags)
		return configErrors(src, max(errs, 1))
	}
	out, err := dsl.Graph(cfg, *journey, *format)
	if err != nil {
		return err
	}
	fmt.Fprint(c.stdout, out)
	if !strings.HasSuffix(out, "\n") {
		fmt.Fprintln(c.stdout)
	}
	return nil
}
