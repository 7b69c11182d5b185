package dsl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

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
// snippet never shows one. Other sources (a file `authd fmt` could not
// parse, `authd test` scenarios) get secret attributes' values masked
// here, so no caller can print one by passing raw bytes. In every format
// the credentials of URLs quoted in a summary or detail are masked
// (MaskURLCredentials).
func WriteDiagnostics(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File, format string, width uint) error {
	masked := make(hcl.Diagnostics, 0, len(diags))
	for _, d := range diags {
		if d != nil {
			d = maskDiagnostic(d)
		}
		masked = append(masked, d)
	}
	diags = masked
	switch format {
	case "", "text":
		files = snippetFiles(diags, files)
		color := isTerminal(w)
		var buf bytes.Buffer
		tw := hcl.NewDiagnosticTextWriter(&buf, files, width, color)
		for _, d := range diags {
			if d == nil {
				continue
			}
			buf.Reset()
			if err := tw.WriteDiagnostic(d); err != nil {
				return err
			}
			out := buf.String()
			if d.Subject != nil {
				out = withColumn(out, d.Subject, files, !color)
			}
			if _, err := io.WriteString(w, out); err != nil {
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

// snippetFiles returns the files diags quote from, with secret values
// masked (redactSource); the others are left out, since no snippet reads
// them.
func snippetFiles(diags hcl.Diagnostics, files map[string]*hcl.File) map[string]*hcl.File {
	quoted := map[string]*hcl.File{}
	for _, d := range diags {
		if d == nil {
			continue
		}
		for _, r := range []*hcl.Range{d.Subject, d.Context} {
			if r == nil {
				continue
			}
			if f, ok := files[r.Filename]; ok {
				quoted[r.Filename] = f
			}
		}
	}
	return redactFiles(quoted)
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

// withColumn adds what hcl's text writer leaves out: the column, as
// "on FILE:LINE:COLUMN" (which editors and terminals can jump to), and,
// without colour to highlight it, a line of carets under the subject.
func withColumn(out string, subj *hcl.Range, files map[string]*hcl.File, carets bool) string {
	header := fmt.Sprintf("  on %s line %d", subj.Filename, subj.Start.Line)
	out = strings.Replace(out, header, fmt.Sprintf("  on %s:%d:%d", subj.Filename, subj.Start.Line, subj.Start.Column), 1)
	f := files[subj.Filename]
	if !carets || f == nil || subj.Start.Byte < 0 || subj.Start.Byte > len(f.Bytes) {
		return out
	}
	// The source line holding the subject's start.
	src := f.Bytes
	lineStart := bytes.LastIndexByte(src[:subj.Start.Byte], '\n') + 1
	lineEnd := len(src)
	if i := bytes.IndexByte(src[subj.Start.Byte:], '\n'); i >= 0 {
		lineEnd = subj.Start.Byte + i
	}
	end := subj.End.Byte
	if end > lineEnd || subj.End.Line != subj.Start.Line {
		end = lineEnd
	}
	// Keep tabs so the carets line up under tab-indented source.
	var pad strings.Builder
	for _, r := range string(src[lineStart:subj.Start.Byte]) {
		if r == '\t' {
			pad.WriteByte('\t')
		} else {
			pad.WriteByte(' ')
		}
	}
	n := utf8.RuneCount(src[subj.Start.Byte:max(end, subj.Start.Byte)])
	if n < 1 {
		n = 1
	}
	snippet := fmt.Sprintf("%4d: ", subj.Start.Line)
	i := strings.Index(out, "\n"+snippet)
	if i < 0 {
		return out
	}
	j := strings.IndexByte(out[i+1:], '\n')
	if j < 0 {
		return out
	}
	at := i + 1 + j + 1
	return out[:at] + "      " + pad.String() + strings.Repeat("^", n) + "\n" + out[at:]
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
