package nodes_test

import (
	"testing"
	"time"

	"github.com/authd/authd/nodes"
)

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{
		"0":      0,
		"0s":     0,
		"120s":   120 * time.Second,
		"10m":    10 * time.Minute,
		"10h":    10 * time.Hour,
		"1d":     24 * time.Hour,
		"2w":     14 * 24 * time.Hour,
		"1h30m":  90 * time.Minute,
		"1d12h":  36 * time.Hour,
		"1.5h":   90 * time.Minute,
		"0.5d":   12 * time.Hour,
		"500ms":  500 * time.Millisecond,
		"36000s": 10 * time.Hour,
		" 5s ":   5 * time.Second,
	}
	for in, want := range good {
		got, err := nodes.ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "10", "-5s", "5 s", "s", "1y", "1x", "10S", "1.2.3s", ".s", "99999999999w", "9223372036s9223372036s", "+5s", "5s 5m"} {
		if got, err := nodes.ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
}

// FuzzParseDuration checks that no input panics and that whatever parses
// is a non-negative duration.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"0", "120s", "1d12h", "1.5w", "9999999999999999999h", "1e3s", "µs"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := nodes.ParseDuration(s); err == nil && d < 0 {
			t.Fatalf("ParseDuration(%q) = %v", s, d)
		}
	})
}
