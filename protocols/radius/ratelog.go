package radius

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// rateLog logs dropped packets at most burst times per reason and window,
// so a flood of junk (or an attacker) cannot fill the disk; the next line
// after a quiet spell says how many were suppressed.
type rateLog struct {
	log    *slog.Logger
	window time.Duration
	burst  int

	mu sync.Mutex
	m  map[string]*rateEntry
}

type rateEntry struct {
	start      time.Time
	n          int
	suppressed int
}

func newRateLog(l *slog.Logger) *rateLog {
	return &rateLog{log: l, window: 10 * time.Second, burst: 5, m: map[string]*rateEntry{}}
}

// warn logs "radius: dropped packet" with the reason, unless the reason
// has been logged burst times in this window.
func (r *rateLog) warn(reason string, args ...any) {
	now := time.Now()
	r.mu.Lock()
	e := r.m[reason]
	if e == nil {
		e = &rateEntry{start: now}
		r.m[reason] = e
	}
	if now.Sub(e.start) >= r.window {
		e.start, e.n = now, 0
	}
	e.n++
	if e.n > r.burst {
		e.suppressed++
		r.mu.Unlock()
		return
	}
	sup := e.suppressed
	e.suppressed = 0
	r.mu.Unlock()
	if sup > 0 {
		args = append(args, "suppressed", sup)
	}
	r.log.Log(context.Background(), slog.LevelWarn, "radius: dropped packet", append([]any{"reason", reason}, args...)...)
}
