package scenario

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authd/authd/dsl"
)

// benchTemplates are the scenarios the benchmark repeats, against the
// reference example: push approved, a TOTP code, a wrong password and a
// push that expires and is sent again (api front end); the RADIUS and
// OAuth front ends are measured separately below.
var benchTemplates = map[string]string{
	"api": `
scenario "push %[1]d" {
  journey = "vpn"
  device  = "approve"
  step { answer = { username = "alice", password = "alice-correct-horse" } }
  step { answer = { code = "" } }
  expect { outcome = "success" }
}
scenario "code %[1]d" {
  journey = "vpn"
  step { answer = { username = "bob", password = "bob-battery-staple" } }
  step { answer = { code = otp("bob") } }
  expect { outcome = "success" }
}
scenario "wrong %[1]d" {
  journey = "vpn"
  step { answer = { username = "alice", password = "nope" } }
  expect { outcome = "failure" }
}
scenario "expiry %[1]d" {
  journey = "vpn"
  step { answer = { username = "alice", password = "alice-correct-horse" } }
  step { answer = { code = "" } }
  step { advance = "121s" }
  step { device = "approve" }
  expect { outcome = "success" }
}
`,
	"radius": `
scenario "radius %[1]d" {
  frontend = "radius"
  step { answer = { username = "bob", password = "bob-battery-staple" } }
  step { answer = { password = otp("bob") } }
  expect { outcome = "success" }
}
`,
	"oauth": `
scenario "oauth %[1]d" {
  frontend = "oauth"
  client   = "grafana"
  device   = "approve"
  step { answer = { username = "alice", password = "alice-correct-horse" } }
  expect { outcome = "success" }
}
`,
}

// benchSuite writes the reference configuration and n scenarios of kind
// into a temporary directory.
func benchSuite(b *testing.B, kind string, n int) string {
	b.Helper()
	dir := b.TempDir()
	src := filepath.Join(repoRoot, "examples", "reference")
	ents, err := os.ReadDir(src)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".hcl") || strings.HasSuffix(e.Name(), ".authtest.hcl") && e.Name() != "users.authtest.hcl" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	tpl := benchTemplates[kind]
	per := strings.Count(tpl, "scenario \"")
	var sb strings.Builder
	for i := 0; i*per < n; i++ {
		fmt.Fprintf(&sb, tpl, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "bench.authtest.hcl"), []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

func benchRun(b *testing.B, kind string, n int) {
	dir := benchSuite(b, kind, n)
	cfg, s, _, diags := Load(dir, dslOptions())
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep := NewRunner(cfg, s, Options{}).Run(context.Background())
		if rep.Failed() > 0 {
			b.Fatalf("%d of %d scenarios failed", rep.Failed(), len(rep.Results))
		}
	}
	b.ReportMetric(float64(len(s.Scenarios)*b.N)/b.Elapsed().Seconds(), "scenarios/s")
}

// BenchmarkRun1000 is the figure in docs/testing.md: 1,000 api scenarios.
func BenchmarkRun1000(b *testing.B) { benchRun(b, "api", 1000) }

// BenchmarkRADIUS100 and BenchmarkOAuth100 price the heavier front ends:
// a RADIUS server, or an OAuth provider with fresh signing keys, per
// scenario.
func BenchmarkRADIUS100(b *testing.B) { benchRun(b, "radius", 100) }
func BenchmarkOAuth100(b *testing.B)  { benchRun(b, "oauth", 100) }

func dslOptions() dsl.Options { return dsl.Options{} }
