package main

import (
	"context"
	"time"

	"github.com/authd/authd/dsl"
)

// auditRetention is the retention in force and where it comes from: the
// -audit-retention flag when given (an override for one run, say while an
// incident is investigated), else server.store.audit_retention of the
// configuration being served (default 90d). 0 keeps entries forever.
func auditRetention(o runOptions, cfg *dsl.Config) (time.Duration, string) {
	if o.auditRetentionSet {
		return o.auditRetention, "-audit-retention"
	}
	if cfg == nil {
		return dsl.DefaultAuditRetention, "default"
	}
	return cfg.Server.Store.AuditRetention, "server.store.audit_retention"
}

// runAuditRetention sweeps the audit log now and then every interval until
// ctx ends. The retention is read again before every sweep, so a reload
// that changes server.store.audit_retention applies from the next sweep
// (within the hour) without a restart; a shorter value does not delete at
// the moment of the reload.
func (s *server) runAuditRetention(ctx context.Context, interval time.Duration) {
	last := time.Duration(-1)
	sweep := func() {
		r, from := auditRetention(s.opts, s.config())
		if r != last {
			if r <= 0 {
				s.log.Warn("audit entries are kept forever; the store grows without bound", "source", from)
			} else {
				s.log.Info("audit retention", "retention", r.String(), "source", from)
			}
			last = r
		}
		if r <= 0 {
			return
		}
		if n, err := s.audit.Sweep(time.Now().Add(-r)); err != nil {
			s.log.Error("sweeping the audit log", "err", err)
		} else if n > 0 {
			s.log.Info("audit entries past retention removed", "count", n, "retention", r.String())
		}
	}
	sweep()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sweep()
		}
	}
}
