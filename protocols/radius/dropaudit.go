package radius

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/metrics"
)

// dropReason is why a packet was dropped unanswered: the label of
// authd_radius_dropped_total and the detail "reason" of its audit entry.
// A fixed set, so the metric's cardinality is bounded.
type dropReason string

// The drop reasons (docs/operations.md lists them).
const (
	dropUnknownClient  dropReason = "unknown_client"                // no radius_client matches the source address
	dropBadAuth        dropReason = "bad_authenticator"             // Message-Authenticator or Accounting Request Authenticator wrong: usually a wrong secret
	dropMissingMA      dropReason = "missing_message_authenticator" // required Message-Authenticator absent (BlastRADIUS), Proxy-State without one, Status-Server without one
	dropMalformed      dropReason = "malformed"                     // short, bad Length, attributes that overrun, a bad User-Password
	dropOversize       dropReason = "oversize"                      // longer than 4096 bytes
	dropUnexpectedCode dropReason = "unexpected_code"               // a code this port does not take (an Access-Accept sent to us, ...)
	dropOverloaded     dropReason = "overloaded"                    // MaxInflight requests in progress; the NAS retransmits
)

// drop counts, logs (rate-limited) and audits (aggregated) one dropped
// packet. msg is the log line's reason; client is the radius_client's
// name when known.
func (s *Server) drop(reason dropReason, src netip.Addr, client, msg string, args ...any) {
	metrics.RADIUSDropped(string(reason))
	src = src.Unmap()
	if client != "" {
		args = append([]any{"client", client}, args...)
	}
	if src.IsValid() {
		args = append([]any{"from", src}, args...)
	}
	s.drops.warn(msg, args...)
	s.dropAudit.note(src, reason, client, msg, time.Now())
}

// dropAudit writes dropped packets to the audit log without letting a
// flood fill the store: per source address and reason, the first drop is
// written at the next flush (within a second), and later drops in the
// same window (Limits.DropAuditWindow, 1 min) are counted and written as
// one entry when the window ends ("12 packets", with the first and last
// time). At most MaxDropAuditSources pairs are tracked per window; beyond
// them (a spoofed-source flood) drops are counted under the address "*",
// so the log grows by at most about MaxDropAuditSources + 8 entries a
// window however fast packets arrive. Counts are exact; only the detail
// is aggregated.
type dropAudit struct {
	log     audit.Logger
	window  time.Duration
	maxSrc  int
	mu      sync.Mutex
	sources map[dropKey]*dropWindow
}

type dropKey struct {
	addr   string
	reason dropReason
}

type dropWindow struct {
	count       int
	first, last time.Time
	msg, client string
	written     time.Time // when the last entry of this key was written
}

func newDropAudit(l audit.Logger, lim Limits) *dropAudit {
	if l == nil {
		l = audit.Discard
	}
	return &dropAudit{log: l, window: lim.DropAuditWindow, maxSrc: lim.MaxDropAuditSources, sources: map[dropKey]*dropWindow{}}
}

func (d *dropAudit) note(src netip.Addr, reason dropReason, client, msg string, now time.Time) {
	addr := "-"
	if src.IsValid() {
		addr = src.String()
	}
	k := dropKey{addr, reason}
	d.mu.Lock()
	defer d.mu.Unlock()
	w := d.sources[k]
	if w == nil && len(d.sources) >= d.maxSrc {
		k.addr = "*"
		w = d.sources[k]
	}
	if w == nil {
		w = &dropWindow{}
		d.sources[k] = w
	}
	if w.count == 0 {
		w.first = now
	}
	w.count++
	w.last = now
	w.msg = msg
	if client != "" || k.addr == "*" {
		w.client = client
	}
}

// flush writes the entries that are due at now (all pending ones when
// force is set, at shutdown) and forgets keys quiet for a whole window.
func (d *dropAudit) flush(now time.Time, force bool) {
	var due []audit.Entry
	d.mu.Lock()
	for k, w := range d.sources {
		switch {
		case w.count > 0 && (force || w.written.IsZero() || now.Sub(w.written) >= d.window):
			due = append(due, w.entry(k))
			w.written, w.count = now, 0
		case w.count == 0 && now.Sub(w.written) >= d.window:
			delete(d.sources, k)
		}
	}
	d.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return due[i].Time.Before(due[j].Time) })
	for _, e := range due {
		d.log.Log(context.Background(), e)
	}
}

func (w *dropWindow) entry(k dropKey) audit.Entry {
	reason := w.msg
	if w.count > 1 {
		reason = fmt.Sprintf("%s (%d packets from %s to %s)", w.msg, w.count,
			w.first.UTC().Format(time.TimeOnly), w.last.UTC().Format(time.TimeOnly))
	}
	detail := map[string]string{"reason": string(k.reason), "count": strconv.Itoa(w.count)}
	if w.client != "" {
		detail["radius_client"] = w.client
	}
	client := k.addr
	if client == "-" {
		client = ""
	}
	return audit.Entry{
		Time: w.first, Kind: audit.KindRADIUSDropped, Frontend: engine.FrontendRADIUS,
		Client: client, Result: audit.ResultDropped, Reason: reason, Detail: detail,
	}
}

// flushLoop flushes every second until the server shuts down, then once
// more with force, so no count is lost.
func (s *Server) flushLoop() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case now := <-t.C:
			s.dropAudit.flush(now, false)
		}
	}
}
