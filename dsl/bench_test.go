package dsl

import (
	"fmt"
	"strings"
	"testing"
)

// largeConfig generates journeys × 10 nodes of core node types, one
// journey per file as a large project would keep them, each journey (but
// the first) entering the previous one, so the cross-journey analyses see
// a long chain. (One 1.2 MB file of the same content parses several
// times slower: hcl's lexer is superlinear in the size of a file.)
func largeConfig(journeys int) map[string][]byte {
	files := map[string][]byte{"main.hcl": []byte(`server {
  http {
    listen = "127.0.0.1:9000"
  }
}

realm "r" {
  lockout {
    max_failures = 5
  }
}
`)}
	for i := 0; i < journeys; i++ {
		var b strings.Builder
		last := "success"
		if i > 0 {
			last = "node.inner"
		}
		inner := `  node "message" "inner" {
    text = "unused"
    next = success
  }
`
		if i > 0 {
			inner = fmt.Sprintf(`  node "inner_journey" "inner" {
    journey  = journey.j%d
    outcomes = { success = success, failure = failure }
  }
`, i-1)
		}
		fmt.Fprintf(&b, `journey "j%d" {
  realm = realm.r
  start = node.login

  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = node.cond, failure = node.retry, locked = failure }
  }
  node "retry_limit" "retry" {
    limit    = 3
    outcomes = { retry = node.login, reject = failure }
  }
  node "condition" "cond" {
    when     = contains(user.groups, "admins")
    outcomes = { true = node.mark, false = node.pick }
  }
  node "set_state" "mark" {
    values = { role = "admin" }
    next   = node.greet
  }
  node "choice" "pick" {
    options  = ["a", "b"]
    outcomes = { a = node.greet, b = node.device }
  }
  node "device_profile" "device" { next = node.greet }
  node "message" "greet" {
    text = "Hello ${user.name}"
    next = node.decide
  }
  node "condition" "decide" {
    when     = state.role == "admin"
    outcomes = { true = success, false = %s }
  }
%s}
`, i, last, inner)
		files[fmt.Sprintf("journeys/j%04d.hcl", i)] = []byte(b.String())
	}
	return files
}

func TestLargeConfigIsValid(t *testing.T) {
	cfg, diags := LoadSources(largeConfig(20), "", testOptions())
	// j0's "inner" node is unreachable on purpose: one warning.
	if diags.HasErrors() || len(diags) != 1 {
		t.Fatalf("generated config:\n%s", render(t, diags, cfg.Files))
	}
	if len(cfg.Program.Journeys) != 20 {
		t.Fatalf("journeys = %d", len(cfg.Program.Journeys))
	}
}

// BenchmarkValidateLarge loads 1,000 journeys of 10 nodes each: the whole
// of `authd validate` on a configuration far larger than any real one.
// Target: well under a second and 200 MB per load.
func BenchmarkValidateLarge(b *testing.B) {
	files := largeConfig(1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, diags := LoadSources(files, "", testOptions())
		if diags.HasErrors() {
			b.Fatal(diags.Error())
		}
	}
}
