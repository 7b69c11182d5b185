package scenario

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// WriteOptions shape a report.
type WriteOptions struct {
	// Format is "text" (the default), "json" or "junit".
	Format string
	// Cover adds, per journey, the edges no scenario followed.
	Cover bool
	// Timing prints durations; golden tests turn it off so output is
	// stable.
	Timing bool
}

// Write prints a report. Text reads like `go test`: one line per
// scenario, "ok" or "FAIL", each failure with its file:line:column and, for
// a path, a diff showing where the expected and the actual path part;
// then a summary line.
func Write(w io.Writer, rep *Report, o WriteOptions) error {
	switch o.Format {
	case "", "text":
		return writeText(w, rep, o)
	case "json":
		return writeJSON(w, rep, o)
	case "junit":
		return writeJUnit(w, rep, o)
	}
	return fmt.Errorf("unknown report format %q (want text, json or junit)", o.Format)
}

func position(r hcl.Range) string {
	if r.Filename == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

func writeText(w io.Writer, rep *Report, o WriteOptions) error {
	var b strings.Builder
	width := 0
	for _, res := range rep.Results {
		width = max(width, len(res.Scenario.Name))
	}
	for _, res := range rep.Results {
		status := "ok  "
		if !res.Passed() {
			status = "FAIL"
		}
		line := fmt.Sprintf("%s %s", status, res.Scenario.Name)
		if o.Timing {
			line = fmt.Sprintf("%s %-*s %s", status, width, res.Scenario.Name, ms(res.Duration))
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
		for _, f := range res.Failures {
			msg := f.Message
			if p := position(f.Range); p != "" {
				msg = p + ": " + msg
			}
			fmt.Fprintf(&b, "     %s\n", msg)
			for _, d := range f.Detail {
				fmt.Fprintf(&b, "       %s\n", d)
			}
		}
	}
	if o.Cover {
		writeCoverText(&b, rep.Coverage)
	}
	failed := rep.Failed()
	summary := fmt.Sprintf("%s  %d scenarios", rep.Dir, len(rep.Results))
	if failed > 0 {
		summary = fmt.Sprintf("FAIL %s  %d passed, %d failed", rep.Dir, len(rep.Results)-failed, failed)
	} else {
		summary = "ok   " + summary
	}
	if o.Timing {
		summary += "  " + ms(rep.Duration)
	}
	b.WriteString(summary + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeCoverText(b *strings.Builder, cov []JourneyCoverage) {
	total, covered := 0, 0
	for _, jc := range cov {
		total += jc.Edges
		covered += jc.Covered
	}
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(covered) / float64(total)
	}
	fmt.Fprintf(b, "coverage: %d of %d edges followed (%.0f%%)\n", covered, total, pct)
	for _, jc := range cov {
		switch {
		case len(jc.Uncovered) == 0:
			fmt.Fprintf(b, "  journey %s: all %d edges\n", jc.Journey, jc.Edges)
		case jc.Covered == 0:
			fmt.Fprintf(b, "  journey %s: no scenario runs it (%d edges)\n", jc.Journey, jc.Edges)
		default:
			fmt.Fprintf(b, "  journey %s: %d of %d edges; not followed:\n", jc.Journey, jc.Covered, jc.Edges)
			for _, e := range jc.Uncovered {
				fmt.Fprintf(b, "    %s\n", e)
			}
		}
	}
}

type jsonReport struct {
	Dir        string         `json:"dir"`
	Passed     int            `json:"passed"`
	Failed     int            `json:"failed"`
	DurationMS *float64       `json:"duration_ms,omitempty"`
	Scenarios  []jsonScenario `json:"scenarios"`
	Coverage   []jsonCoverage `json:"coverage,omitempty"`
}

type jsonScenario struct {
	Name       string        `json:"name"`
	File       string        `json:"file"`
	Line       int           `json:"line"`
	Frontend   string        `json:"frontend"`
	Journey    string        `json:"journey,omitempty"`
	Status     string        `json:"status"`
	Outcome    string        `json:"outcome"`
	User       string        `json:"user,omitempty"`
	Path       []string      `json:"path"`
	DurationMS *float64      `json:"duration_ms,omitempty"`
	Failures   []jsonFailure `json:"failures,omitempty"`
}

type jsonFailure struct {
	Message string   `json:"message"`
	File    string   `json:"file,omitempty"`
	Line    int      `json:"line,omitempty"`
	Column  int      `json:"column,omitempty"`
	Detail  []string `json:"detail,omitempty"`
}

type jsonCoverage struct {
	Journey   string     `json:"journey"`
	Edges     int        `json:"edges"`
	Covered   int        `json:"covered"`
	Uncovered []jsonEdge `json:"uncovered"`
}

type jsonEdge struct {
	Node    string `json:"node"`
	Outcome string `json:"outcome"`
	Target  string `json:"target"`
}

func msPtr(d time.Duration, on bool) *float64 {
	if !on {
		return nil
	}
	v := float64(d.Microseconds()) / 1000
	return &v
}

func writeJSON(w io.Writer, rep *Report, o WriteOptions) error {
	out := jsonReport{Dir: rep.Dir, Failed: rep.Failed(), DurationMS: msPtr(rep.Duration, o.Timing), Scenarios: []jsonScenario{}}
	out.Passed = len(rep.Results) - out.Failed
	for _, res := range rep.Results {
		sc := res.Scenario
		js := jsonScenario{
			Name: sc.Name, File: sc.File, Line: sc.DeclRange.Start.Line, Frontend: sc.Frontend, Journey: sc.Journey,
			Status: "pass", Outcome: res.Outcome, User: res.User, Path: res.Path, DurationMS: msPtr(res.Duration, o.Timing),
		}
		if js.Path == nil {
			js.Path = []string{}
		}
		if !res.Passed() {
			js.Status = "fail"
		}
		for _, f := range res.Failures {
			js.Failures = append(js.Failures, jsonFailure{Message: f.Message, File: f.Range.Filename,
				Line: f.Range.Start.Line, Column: f.Range.Start.Column, Detail: f.Detail})
		}
		out.Scenarios = append(out.Scenarios, js)
	}
	if o.Cover {
		for _, jc := range rep.Coverage {
			c := jsonCoverage{Journey: jc.Journey, Edges: jc.Edges, Covered: jc.Covered, Uncovered: []jsonEdge{}}
			for _, e := range jc.Uncovered {
				c.Uncovered = append(c.Uncovered, jsonEdge{Node: e.Node, Outcome: e.Outcome, Target: e.Target})
			}
			out.Coverage = append(out.Coverage, c)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// JUnit XML as Jenkins, GitLab and the GitHub test reporters read it.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Time     string       `xml:"time,attr,omitempty"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Time     string      `xml:"time,attr,omitempty"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Class   string        `xml:"classname,attr"`
	Name    string        `xml:"name,attr"`
	Time    string        `xml:"time,attr,omitempty"`
	Failure *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration, on bool) string {
	if !on {
		return ""
	}
	return fmt.Sprintf("%.3f", d.Seconds())
}

func writeJUnit(w io.Writer, rep *Report, o WriteOptions) error {
	s := junitSuite{Name: rep.Dir, Tests: len(rep.Results), Failures: rep.Failed(), Time: seconds(rep.Duration, o.Timing)}
	for _, res := range rep.Results {
		c := junitCase{Class: res.Scenario.File, Name: res.Scenario.Name, Time: seconds(res.Duration, o.Timing)}
		if !res.Passed() {
			var text []string
			for _, f := range res.Failures {
				msg := f.Message
				if p := position(f.Range); p != "" {
					msg = p + ": " + msg
				}
				text = append(text, msg)
				text = append(text, f.Detail...)
			}
			c.Failure = &junitFailure{Message: res.Failures[0].Message, Type: "scenario", Text: strings.Join(text, "\n")}
		}
		s.Cases = append(s.Cases, c)
	}
	out := junitSuites{Name: "authd test", Tests: s.Tests, Failures: s.Failures, Time: s.Time, Suites: []junitSuite{s}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
