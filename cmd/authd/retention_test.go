package main

import (
	"testing"
	"time"

	"github.com/authd/authd/dsl"
)

// TestAuditRetentionSource: the flag, when given, overrides the
// configuration; otherwise server.store.audit_retention (default 90d).
func TestAuditRetentionSource(t *testing.T) {
	withStore := func(d time.Duration) *dsl.Config {
		c := &dsl.Config{}
		c.Server.Store.AuditRetention = d
		return c
	}
	cases := []struct {
		name     string
		opts     runOptions
		cfg      *dsl.Config
		want     time.Duration
		wantFrom string
	}{
		{"configuration", runOptions{}, withStore(30 * 24 * time.Hour), 30 * 24 * time.Hour, "server.store.audit_retention"},
		{"configuration keeps forever", runOptions{}, withStore(0), 0, "server.store.audit_retention"},
		{"flag overrides", runOptions{auditRetention: 7 * 24 * time.Hour, auditRetentionSet: true}, withStore(30 * 24 * time.Hour), 7 * 24 * time.Hour, "-audit-retention"},
		{"flag 0 overrides", runOptions{auditRetentionSet: true}, withStore(30 * 24 * time.Hour), 0, "-audit-retention"},
		{"no configuration", runOptions{}, nil, dsl.DefaultAuditRetention, "default"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, from := auditRetention(tc.opts, tc.cfg)
			if got != tc.want || from != tc.wantFrom {
				t.Errorf("got %v from %s, want %v from %s", got, from, tc.want, tc.wantFrom)
			}
		})
	}
}
