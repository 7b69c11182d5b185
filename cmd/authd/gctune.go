package main

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// serverGCPercent is the collector's pace for `authd run` when GOGC is not
// set and memory is not budgeted by a cgroup: the heap may grow to three
// times what is live between collections, not twice (Go's 100). authd's
// live heap is small (tens of MB) and it allocates per request, so with
// Go's default it collects a few times a second under load, and each cycle
// holds one of a small machine's CPUs for about 10 ms, the tail of every
// request it overlaps. 200 halves the cycles for 10–20 MB more with
// 10,000 logins waiting (docs/benchmarks.md, "Push"; docs/operations.md,
// "The Go garbage collector").
//
// Under a memory cgroup's limit authd keeps Go's pace: the cgroup also
// holds the store's pages in its page cache, and heap taken from them is
// paid in pages read again from disk. In a 150 MB cgroup the steady-state
// push benchmark's p99 went from 8.5–9.7 ms at Go's pace to 19.8 ms at
// 200, with six times the page faults.
const serverGCPercent = 200

// memoryLimitShare is the part of a memory cgroup's limit (a container's,
// systemd's MemoryMax=) given to the Go runtime as its soft limit when
// GOMEMLIMIT is not set, so that a heap growing toward the limit makes Go
// collect harder instead of the kernel's OOM killer end authd. The rest
// is for what the kernel also charges authd with: socket buffers (one per
// waiting long poll) and the store's pages in the page cache.
const memoryLimitShare = 0.8

// tuneRuntime sets the collector of a long-running server, leaving alone
// whatever the operator set (GOGC, GOMEMLIMIT): with no memory cgroup
// limit, the pace serverGCPercent; under one, Go's pace and a soft memory
// limit of memoryLimitShare of it. cgroupLimit reports the cgroup's limit
// (memlimit.FromCgroup; memlimit.ErrNoLimit when there is none). It
// returns what it did, as attributes for the start-up log; an unreadable
// cgroup is an error for the log (and Go's defaults), not a reason not to
// serve.
func tuneRuntime(getenv func(string) string, cgroupLimit memlimit.Provider) ([]any, error) {
	gogc, gomemlimit := getenv("GOGC"), getenv("GOMEMLIMIT")
	if gogc != "" && gomemlimit != "" {
		return []any{"gogc", gogc + " (GOGC)", "memory_limit", gomemlimit + " (GOMEMLIMIT)"}, nil
	}
	// The cgroup decides both settings; why says what it said, for the log.
	limit, err := cgroupLimit()
	noLimit := errors.Is(err, memlimit.ErrNoLimit)
	var why string
	switch {
	case noLimit:
		why, err = "no memory cgroup limit", nil
	case err != nil:
		why, err = "the memory cgroup is unreadable", fmt.Errorf("reading the memory cgroup's limit: %w", err)
	default:
		why = "the memory cgroup's limit is " + mebibytes(int64(limit))
	}
	attrs := make([]any, 0, 4)
	switch {
	case gogc != "":
		attrs = append(attrs, "gogc", gogc+" (GOGC)")
	case noLimit:
		debug.SetGCPercent(serverGCPercent)
		attrs = append(attrs, "gogc", fmt.Sprintf("%d (authd's default: %s; GOGC overrides it)", serverGCPercent, why))
	default:
		attrs = append(attrs, "gogc", "100 (Go's default: "+why+"; GOGC overrides it)")
	}
	switch {
	case gomemlimit != "":
		attrs = append(attrs, "memory_limit", gomemlimit+" (GOMEMLIMIT)")
	case noLimit || err != nil:
		attrs = append(attrs, "memory_limit", "none ("+why+"; GOMEMLIMIT sets one)")
	default:
		soft := int64(float64(limit) * memoryLimitShare)
		debug.SetMemoryLimit(soft)
		attrs = append(attrs, "memory_limit", fmt.Sprintf("%s (%.0f%% of it: %s; GOMEMLIMIT overrides it)",
			mebibytes(soft), memoryLimitShare*100, why))
	}
	return attrs, err
}

// logRuntime tunes the runtime for `authd run` and says so once at start.
func logRuntime(log *slog.Logger, getenv func(string) string) {
	attrs, err := tuneRuntime(getenv, memlimit.FromCgroup)
	if err != nil {
		log.Warn("runtime: the memory cgroup's limit is unknown", "err", err)
	}
	log.Info("runtime", attrs...)
}

func mebibytes(n int64) string {
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}
