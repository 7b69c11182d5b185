package nodes_test

import (
	"strings"
	"testing"
)

// wantOutcomes checks the outcomes src's settings produce.
func wantOutcomes(t *testing.T, typ, src, want string) {
	t.Helper()
	if got := outcomeNames(nodeType(t, typ).Outcomes(mustDecode(t, typ, src))); got != want {
		t.Errorf("%s %q: outcomes %s, want %s", typ, src, got, want)
	}
}

// wantWarnings checks the settings a type warns about.
func wantWarnings(t *testing.T, typ, src string, settings ...string) {
	t.Helper()
	ws := nodeType(t, typ).Warnings(mustDecode(t, typ, src))
	var got []string
	for _, w := range ws {
		if !w.Warning {
			t.Errorf("%s %q: %v is not marked as a warning", typ, src, w)
		}
		got = append(got, w.Setting)
	}
	if strings.Join(got, ",") != strings.Join(settings, ",") {
		t.Errorf("%s %q: warnings on %v, want %v (%v)", typ, src, got, settings, ws)
	}
}
