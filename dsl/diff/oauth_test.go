package diff

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/authd/authd/dsl"
)

// oauthBase is a realm with a journey, a web relying party, a resource
// server and a reporting client; each case of TestOAuthChanges edits the
// %[1]s (realm settings) and %[2]s (web's extra settings) holes.
const oauthBase = `
realm "corp" {
  %[1]s
}

journey "login" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" {
    next = node.check
  }
  node "password_check" "check" {
    outcomes = { success = success, failure = failure, locked = failure }
  }
}

relying_party "web" {
  realm         = realm.corp
  journey       = journey.login
  client_id     = "web"
  client_secret = env("WEB_SECRET")
  grant_types   = ["authorization_code"]
  %[2]s
}

relying_party "orders_api" {
  realm         = realm.corp
  client_id     = "orders-api"
  client_secret = env("ORDERS_SECRET")
  grant_types   = ["client_credentials"]
}

relying_party "reports" {
  realm         = realm.corp
  client_id     = "reports"
  client_secret = env("REPORTS_SECRET")
  grant_types   = ["client_credentials"]
}
`

func loadOAuth(t *testing.T, realm, web string) *dsl.Config {
	t.Helper()
	src := fmt.Sprintf(oauthBase, realm, web)
	cfg, diags := dsl.LoadSources(map[string][]byte{"config.hcl": []byte(src)}, "", dsl.Options{LookupEnv: env})
	if diags.HasErrors() {
		var b bytes.Buffer
		_ = dsl.WriteDiagnostics(&b, diags, cfg.Files, "text", 0)
		t.Fatalf("%s\n%s", b.String(), src)
	}
	return cfg
}

// TestOAuthChanges: the relying_party fields post_logout_redirect_uris,
// redirect_uris and introspectors and the realm's sso_session_ttl show as
// changed settings under their configuration names, and the changes that
// widen access are warned about (and only those).
func TestOAuthChanges(t *testing.T) {
	const (
		uris    = `redirect_uris = ["https://app.example.com/cb"]`
		uris2   = `redirect_uris = ["https://app.example.com/cb", "https://evil.example.net/cb"]`
		logout  = `post_logout_redirect_uris = ["https://app.example.com/"]`
		logout2 = `post_logout_redirect_uris = ["https://app.example.com/", "https://app.example.com/bye"]`
	)
	for _, tc := range []struct {
		name               string
		oldRealm, newRealm string
		oldWeb, newWeb     string
		wantLine           string // a settings line "key: old → new" in the web or corp section
		wantWarnings       []string
	}{
		{
			name:   "post-logout redirect URI added",
			oldWeb: uris + "\n" + logout, newWeb: uris + "\n" + logout2,
			wantLine:     `post_logout_redirect_uris: ["https://app.example.com/"] → ["https://app.example.com/", "https://app.example.com/bye"]`,
			wantWarnings: []string{`relying_party "web": post-logout redirect URI added: https://app.example.com/bye`},
		},
		{
			name:   "post-logout redirect URIs first set",
			oldWeb: uris, newWeb: uris + "\n" + logout,
			wantLine:     `post_logout_redirect_uris: (unset) → ["https://app.example.com/"]`,
			wantWarnings: []string{`relying_party "web": post-logout redirect URI added: https://app.example.com/ `},
		},
		{
			name:   "post-logout redirect URI removed: no warning",
			oldWeb: uris + "\n" + logout2, newWeb: uris + "\n" + logout,
			wantLine: `post_logout_redirect_uris: ["https://app.example.com/", "https://app.example.com/bye"] → ["https://app.example.com/"]`,
		},
		{
			name:   "redirect URI added",
			oldWeb: uris, newWeb: uris2,
			wantLine:     `redirect_uris: ["https://app.example.com/cb"] → ["https://app.example.com/cb", "https://evil.example.net/cb"]`,
			wantWarnings: []string{`relying_party "web": redirect URI added: https://evil.example.net/cb`},
		},
		{
			name:   "introspector added",
			oldWeb: uris + "\nintrospectors = [relying_party.orders_api]", newWeb: uris + "\nintrospectors = [relying_party.orders_api, relying_party.reports]",
			wantLine:     `introspectors: ["orders_api"] → ["orders_api", "reports"]`,
			wantWarnings: []string{`relying_party "web": introspector added: relying_party "reports" may now introspect`},
		},
		{
			name:   "introspector removed: no warning",
			oldWeb: uris + "\nintrospectors = [relying_party.orders_api]", newWeb: uris,
			wantLine: `introspectors: ["orders_api"] → (unset)`,
		},
		{
			name:     "sso_session_ttl raised",
			oldRealm: `sso_session_ttl = "2h"`, newRealm: `sso_session_ttl = "1d"`, oldWeb: uris, newWeb: uris,
			wantLine:     `sso_session_ttl: 2h → 1d`,
			wantWarnings: []string{`realm "corp": sso_session_ttl raised: 2h → 1d`},
		},
		{
			name:     "sso_session_ttl raised from the default",
			oldRealm: ``, newRealm: `sso_session_ttl = "30d"`, oldWeb: uris, newWeb: uris,
			wantLine:     `sso_session_ttl: 8h → 30d`,
			wantWarnings: []string{`realm "corp": sso_session_ttl raised: 8h → 30d`},
		},
		{
			name:     "sso_session_ttl lowered: no warning",
			oldRealm: `sso_session_ttl = "1d"`, newRealm: `sso_session_ttl = "1h"`, oldWeb: uris, newWeb: uris,
			wantLine: `sso_session_ttl: 1d → 1h`,
		},
		{
			name:     "the default spelled out is no change",
			oldRealm: ``, newRealm: `sso_session_ttl = "8h"`, oldWeb: uris, newWeb: uris,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Compare(loadOAuth(t, tc.oldRealm, tc.oldWeb), loadOAuth(t, tc.newRealm, tc.newWeb))
			var lines []string
			for _, s := range r.Sections {
				for _, l := range s.Lines {
					lines = append(lines, l.Key+": "+l.Old+" → "+l.New)
				}
			}
			if tc.wantLine == "" {
				if len(lines) != 0 {
					t.Errorf("changes found: %q", lines)
				}
			} else if !contains(lines, tc.wantLine) {
				t.Errorf("no line %q in %q", tc.wantLine, lines)
			}
			var got []string
			for _, w := range r.Warnings {
				got = append(got, w.Subject+": "+w.Message+" ")
			}
			if len(got) != len(tc.wantWarnings) {
				t.Fatalf("warnings %q, want %q", got, tc.wantWarnings)
			}
			for i, w := range tc.wantWarnings {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("warning %q, want it to start with %q", got[i], w)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}
