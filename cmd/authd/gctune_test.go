package main

import (
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// TestTuneRuntime: authd run paces the collector at serverGCPercent and
// takes a soft memory limit from its memory cgroup, each only when the
// operator did not set it (GOGC, GOMEMLIMIT).
func TestTuneRuntime(t *testing.T) {
	gcBefore := debug.SetGCPercent(100)
	memBefore := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(gcBefore)
		debug.SetMemoryLimit(memBefore)
	})
	const mib = 1 << 20
	limited := func(n uint64) memlimit.Provider { return memlimit.Limit(n) }
	noLimit := func() (uint64, error) { return 0, memlimit.ErrNoLimit }
	unreadable := func() (uint64, error) { return 0, errors.New("no /proc/self/cgroup") }
	notAsked := func() (uint64, error) { t.Error("the cgroup was read although GOMEMLIMIT is set"); return 0, nil }

	cases := []struct {
		name      string
		env       map[string]string
		cgroup    memlimit.Provider
		wantGC    int   // the collector's percent afterwards
		wantLimit int64 // the soft memory limit afterwards
		wantErr   bool
		wantLog   []string // in the start-up log's attributes
	}{
		{"defaults, no cgroup limit", nil, noLimit, serverGCPercent, math.MaxInt64, false,
			[]string{"200 (authd's default", "none (no memory cgroup limit"}},
		{"defaults in a 150 MiB cgroup", nil, limited(150 * mib), serverGCPercent, 120 * mib, false,
			[]string{"120 MiB (80% of the memory cgroup's 150 MiB"}},
		{"GOGC is the operator's", map[string]string{"GOGC": "50"}, noLimit, 100, math.MaxInt64, false,
			[]string{"50 (GOGC)"}},
		{"GOGC=off is the operator's", map[string]string{"GOGC": "off"}, noLimit, 100, math.MaxInt64, false,
			[]string{"off (GOGC)"}},
		{"GOMEMLIMIT is the operator's", map[string]string{"GOMEMLIMIT": "1GiB"}, notAsked, serverGCPercent, math.MaxInt64, false,
			[]string{"1GiB (GOMEMLIMIT)"}},
		{"an unreadable cgroup is reported, not fatal", nil, unreadable, serverGCPercent, math.MaxInt64, true,
			[]string{"memory_limit none"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(math.MaxInt64)
			attrs, err := tuneRuntime(func(k string) string { return tc.env[k] }, tc.cgroup)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want one: %v", err, tc.wantErr)
			}
			if gc := debug.SetGCPercent(100); gc != tc.wantGC {
				t.Errorf("GC percent %d, want %d", gc, tc.wantGC)
			}
			if limit := debug.SetMemoryLimit(-1); limit != tc.wantLimit {
				t.Errorf("memory limit %d, want %d", limit, tc.wantLimit)
			}
			log := fmt.Sprint(attrs)
			for _, want := range tc.wantLog {
				if !strings.Contains(log, want) {
					t.Errorf("start-up log %q lacks %q", log, want)
				}
			}
		})
	}
}
