package main

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// serverGCPercent is the collector's pace for `authd run` when GOGC is not
// set: the heap may grow to three times what is live between collections,
// not twice (Go's 100). authd's live heap is small (tens of MB) and it
// allocates per request, so with Go's default it collects a few times a
// second under load, and each cycle holds one of a small machine's CPUs
// for about 10 ms, the tail of every request it overlaps. 200 halves the
// cycles for 10–20 MB more with 10,000 logins waiting (docs/benchmarks.md,
// "Push"; docs/operations.md, "The Go garbage collector").
const serverGCPercent = 200

// memoryLimitShare is the part of a memory cgroup's limit (a container's,
// systemd's MemoryMax=) given to the Go runtime as its soft limit when
// GOMEMLIMIT is not set. The slower pace above must never be what pushes
// authd into the kernel's OOM killer: near the soft limit Go collects as
// often as it must instead. The rest of the cgroup's limit is for what
// the kernel also charges authd with: socket buffers (one per waiting
// long poll) and the store's pages in the page cache, which it can drop.
const memoryLimitShare = 0.8

// tuneRuntime sets the collector of a long-running server: serverGCPercent
// unless GOGC is set, and a soft memory limit from the memory cgroup
// unless GOMEMLIMIT is set. cgroupLimit reports the cgroup's limit
// (memlimit.FromCgroup; memlimit.ErrNoLimit when there is none). It
// returns what it did, as attributes for the start-up log; an unreadable
// cgroup is an error for the log, not a reason not to serve.
func tuneRuntime(getenv func(string) string, cgroupLimit memlimit.Provider) ([]any, error) {
	attrs := make([]any, 0, 4)
	if v := getenv("GOGC"); v != "" {
		attrs = append(attrs, "gogc", v+" (GOGC)")
	} else {
		debug.SetGCPercent(serverGCPercent)
		attrs = append(attrs, "gogc", fmt.Sprintf("%d (authd's default; GOGC overrides it)", serverGCPercent))
	}
	if v := getenv("GOMEMLIMIT"); v != "" {
		return append(attrs, "memory_limit", v+" (GOMEMLIMIT)"), nil
	}
	limit, err := cgroupLimit()
	switch {
	case errors.Is(err, memlimit.ErrNoLimit):
		return append(attrs, "memory_limit", "none (no memory cgroup limit; GOMEMLIMIT sets one)"), nil
	case err != nil:
		return append(attrs, "memory_limit", "none"), fmt.Errorf("reading the memory cgroup's limit: %w", err)
	}
	soft := int64(float64(limit) * memoryLimitShare)
	debug.SetMemoryLimit(soft)
	return append(attrs, "memory_limit", fmt.Sprintf("%s (%.0f%% of the memory cgroup's %s; GOMEMLIMIT overrides it)",
		mebibytes(soft), memoryLimitShare*100, mebibytes(int64(limit)))), nil
}

// logRuntime tunes the runtime for `authd run` and says so once at start.
func logRuntime(log *slog.Logger, getenv func(string) string) {
	attrs, err := tuneRuntime(getenv, memlimit.FromCgroup)
	if err != nil {
		log.Warn("runtime: no soft memory limit", "err", err)
	}
	log.Info("runtime", attrs...)
}

func mebibytes(n int64) string {
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}
