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

// TestTuneRuntime: authd run paces the collector at serverGCPercent when
// no memory cgroup limits it, and under one keeps Go's pace and takes a
// soft memory limit from it; whatever the operator set (GOGC, GOMEMLIMIT)
// stays.
func TestTuneRuntime(t *testing.T) {
	gcBefore := debug.SetGCPercent(100)
	memBefore := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(gcBefore)
		debug.SetMemoryLimit(memBefore)
	})
	const mib = 1 << 20
	noLimit := func() (uint64, error) { return 0, memlimit.ErrNoLimit }
	unreadable := func() (uint64, error) { return 0, errors.New("no /proc/self/cgroup") }
	// Read although GOGC and GOMEMLIMIT are set, it fails the case.
	notAsked := func() (uint64, error) { return 0, errors.New("the cgroup was read") }

	cases := []struct {
		name      string
		env       map[string]string
		cgroup    memlimit.Provider
		wantGC    int   // the collector's percent afterwards
		wantLimit int64 // the soft memory limit afterwards
		wantErr   bool
		wantLog   []string // in the start-up log's attributes
	}{
		{"no cgroup limit: the slower pace, no soft limit", nil, noLimit, serverGCPercent, math.MaxInt64, false,
			[]string{"200 (authd's default: no memory cgroup limit", "none (no memory cgroup limit"}},
		{"a 150 MiB cgroup: Go's pace, a soft limit of 80%", nil, memlimit.Limit(150 * mib), 100, 120 * mib, false,
			[]string{"100 (Go's default: the memory cgroup's limit is 150 MiB", "120 MiB (80% of it: the memory cgroup's limit is 150 MiB"}},
		{"GOGC is the operator's", map[string]string{"GOGC": "50"}, noLimit, 100, math.MaxInt64, false,
			[]string{"50 (GOGC)"}},
		{"GOGC=off is the operator's, in a cgroup too", map[string]string{"GOGC": "off"}, memlimit.Limit(150 * mib), 100, 120 * mib, false,
			[]string{"off (GOGC)", "120 MiB"}},
		{"GOMEMLIMIT is the operator's", map[string]string{"GOMEMLIMIT": "1GiB"}, noLimit, serverGCPercent, math.MaxInt64, false,
			[]string{"1GiB (GOMEMLIMIT)"}},
		{"both set: the cgroup is not read", map[string]string{"GOGC": "300", "GOMEMLIMIT": "1GiB"}, notAsked, 100, math.MaxInt64, false,
			[]string{"300 (GOGC)", "1GiB (GOMEMLIMIT)"}},
		{"an unreadable cgroup keeps Go's defaults and is reported", nil, unreadable, 100, math.MaxInt64, true,
			[]string{"100 (Go's default: the memory cgroup is unreadable", "none (the memory cgroup is unreadable"}},
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
