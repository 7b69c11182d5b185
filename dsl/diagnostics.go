package dsl

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// WriteDiagnostics prints diags in one of three formats:
//
//   - "text": hcl's text writer with source snippets, wrapped at width (0
//     disables wrapping), coloured only when w is a terminal and NO_COLOR
//     is unset;
//   - "json": an array of {severity, summary, detail, filename, line,
//     column, end_line, end_column}, for machines;
//   - "github": GitHub Actions workflow commands (::error file=...::...),
//     so CI annotates the lines in a pull request.
//
// Pass Config.Files as files: literal secrets are masked there, so a
// snippet never shows one.
func WriteDiagnostics(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File, format string, width uint) error {
	switch format {
	case "", "text":
		tw := hcl.NewDiagnosticTextWriter(w, files, width, isTerminal(w))
		for _, d := range diags {
			if d == nil {
				continue
			}
			if err := tw.WriteDiagnostic(d); err != nil {
				return err
			}
		}
		return nil
	case "json":
		out := make([]jsonDiag, 0, len(diags))
		for _, d := range diags {
			if d == nil {
				continue
			}
			jd := jsonDiag{Severity: severity(d.Severity), Summary: d.Summary, Detail: d.Detail}
			if d.Subject != nil {
				jd.Filename = d.Subject.Filename
				jd.Line, jd.Column = d.Subject.Start.Line, d.Subject.Start.Column
				jd.EndLine, jd.EndColumn = d.Subject.End.Line, d.Subject.End.Column
			}
			out = append(out, jd)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(out)
	case "github":
		for _, d := range diags {
			if d == nil {
				continue
			}
			var props []string
			if d.Subject != nil {
				props = append(props,
					"file="+ghProperty(d.Subject.Filename),
					fmt.Sprintf("line=%d", d.Subject.Start.Line),
					fmt.Sprintf("col=%d", d.Subject.Start.Column),
					fmt.Sprintf("endLine=%d", d.Subject.End.Line),
					fmt.Sprintf("endColumn=%d", d.Subject.End.Column),
				)
			}
			props = append(props, "title="+ghProperty(d.Summary))
			msg := d.Detail
			if msg == "" {
				msg = d.Summary
			}
			if _, err := fmt.Fprintf(w, "::%s %s::%s\n", severity(d.Severity), strings.Join(props, ","), ghData(msg)); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown diagnostics format %q (want text, json or github)", format)
}

type jsonDiag struct {
	Severity  string `json:"severity"`
	Summary   string `json:"summary"`
	Detail    string `json:"detail"`
	Filename  string `json:"filename"`
	Line      int    `json:"line"`
	Column    int    `json:"column"`
	EndLine   int    `json:"end_line"`
	EndColumn int    `json:"end_column"`
}

func severity(s hcl.DiagnosticSeverity) string {
	if s == hcl.DiagWarning {
		return "warning"
	}
	return "error"
}

// ghData escapes a workflow command's message.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// ghProperty escapes a workflow command's property value.
func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// isTerminal reports whether w is a character device, so colours are
// sent only to a person, never into a log file or a pipe.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
