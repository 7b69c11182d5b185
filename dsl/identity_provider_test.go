package dsl

import (
	"strings"
	"testing"
)

// TestIdentityProviderAssumeEmailVerified: the setting that lets a provider
// which never sends email_verified match users by email is off unless
// written, and takes a boolean.
func TestIdentityProviderAssumeEmailVerified(t *testing.T) {
	cases := []struct {
		name    string
		setting string
		want    bool
		wantErr string // a diagnostic summary; "" for none
	}{
		{"default off", "", false, ""},
		{"on", "assume_email_verified = true", true, ""},
		{"off", "assume_email_verified = false", false, ""},
		{"not a boolean", `assume_email_verified = "yes"`, false, "Incorrect attribute value type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := `identity_provider "oidc" "corp" {
  issuer    = "https://idp.example.com"
  client_id = "authd"
  ` + tc.setting + `
}
`
			cfg, diags := LoadSources(map[string][]byte{"x.hcl": []byte(src)}, "", testOptions())
			got := render(t, diags, cfg.Files)
			if tc.wantErr == "" && diags.HasErrors() || tc.wantErr != "" && !strings.Contains(got, tc.wantErr) {
				t.Fatalf("diagnostics:\n%s\nwant %q", got, tc.wantErr)
			}
			if tc.wantErr != "" {
				return
			}
			p := cfg.IdentityProviders["corp"]
			if p == nil || p.AssumeEmailVerified != tc.want {
				t.Fatalf("identity_provider = %+v, want AssumeEmailVerified %v", p, tc.want)
			}
		})
	}
}
