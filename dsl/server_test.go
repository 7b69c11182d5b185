package dsl

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// storeBlock is a server block with one store attribute.
func storeBlock(attr string) string { return "server {\n  store {\n    " + attr + "\n  }\n}\n" }

// TestAuditRetention: server.store.audit_retention takes a duration of at
// least 1h, or 0 (kept forever, with a warning); without it the default
// is 90 days. The refusals are pinned by the audit_retention_* goldens.
func TestAuditRetention(t *testing.T) {
	const journey = `
realm "demo" {}
journey "login" {
  realm = realm.demo
  start = node.login
  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = success, failure = failure, locked = failure }
  }
}
`
	cases := []struct {
		name, server string
		want         time.Duration
		warn, err    bool
	}{
		{"default without a server block", "", DefaultAuditRetention, false, false},
		{"default without the attribute", storeBlock(`path = "a.db"`), DefaultAuditRetention, false, false},
		{"days", storeBlock(`audit_retention = "30d"`), 30 * 24 * time.Hour, false, false},
		{"weeks", storeBlock(`audit_retention = "52w"`), 52 * 7 * 24 * time.Hour, false, false},
		{"the minimum", storeBlock(`audit_retention = "1h"`), time.Hour, false, false},
		{"zero keeps forever, with a warning", storeBlock(`audit_retention = "0"`), 0, true, false},
		{"too short", storeBlock(`audit_retention = "59m"`), 0, false, true},
		{"not a duration", storeBlock(`audit_retention = "soon"`), 0, false, true},
		{"not a string", storeBlock(`audit_retention = true`), 0, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "authd.hcl")
			if err := os.WriteFile(path, []byte(tc.server+journey), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, diags := Load([]string{path}, testOptions())
			warns := 0
			for _, d := range diags {
				if d.Severity == hcl.DiagWarning {
					warns++
				}
			}
			if diags.HasErrors() != tc.err || (warns > 0) != tc.warn {
				t.Fatalf("diagnostics %v; want error %v, warning %v", diags, tc.err, tc.warn)
			}
			if !tc.err && cfg.Server.Store.AuditRetention != tc.want {
				t.Errorf("AuditRetention = %v, want %v", cfg.Server.Store.AuditRetention, tc.want)
			}
		})
	}
}
