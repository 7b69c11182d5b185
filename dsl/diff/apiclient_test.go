package diff

import (
	"bytes"
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/authd/authd/dsl"
)

// apiClientBase is a realm with a journey MFA guards (portal_push) and one
// it does not (plain); %CLIENT% is replaced by each case's api_client.
const apiClientBase = `
realm "corp" {
  push_providers = [push_provider.poll]
}

push_provider "poll" "poll" {}

journey "plain" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = success, failure = failure, locked = failure }
  }
}

journey "portal_push" {
  realm = realm.corp
  start = node.user
  node "username" "user" { next = node.push }
  node "push_sender" "push" {
    remove_skip = true
    outcomes    = { sent = node.wait, not_registered = failure }
  }
  node "push_wait" "wait" {
    outcomes = { done = node.verify, exit = failure }
  }
  node "push_result_verifier" "verify" {
    outcomes = { success = success, failure = failure, expired = failure, waiting = node.wait }
  }
}
%CLIENT%
`

const apiClientPortal = `
api_client "portal" {
  secret        = env("PORTAL_SECRET")
  allowed_ips   = ["192.0.2.10", "198.51.100.0/24"]
  journeys      = [journey.portal_push]
  callback_urls = ["https://portal.example.com/a"]
  message_templates = { de = "[message] Gerät: [browser]" }
  callback_auth {
    username = "authd"
    password = env("CALLBACK_PASSWORD")
  }
}
`

func loadAPIClient(t *testing.T, client string) *dsl.Config {
	t.Helper()
	src := strings.Replace(apiClientBase, "%CLIENT%", client, 1)
	cfg, diags := dsl.LoadSources(map[string][]byte{"authd.hcl": []byte(src)}, t.TempDir(), dsl.Options{LookupEnv: env})
	if diags.HasErrors() {
		t.Fatalf("config: %v\n%s", diags, src)
	}
	return cfg
}

// TestAPIClientDiff: api_client blocks are added, removed and changed
// sections, and each change that lets more in is a warning.
func TestAPIClientDiff(t *testing.T) {
	tests := []struct {
		name        string
		old, new    string // api_client blocks
		change      Change // of the api_client section; "" when none
		lines       []string
		warnings    []string
		notWarnings []string
	}{
		{
			name: "unchanged", old: apiClientPortal, new: apiClientPortal,
		},
		{
			name: "lists reordered",
			old:  apiClientPortal,
			new:  strings.Replace(apiClientPortal, `["192.0.2.10", "198.51.100.0/24"]`, `["198.51.100.0/24", "192.0.2.10"]`, 1),
		},
		{
			name: "client added", old: "", new: apiClientPortal, change: Added,
			lines: []string{`allowed_ips = ["192.0.2.10/32", "198.51.100.0/24"]`, `journeys = ["portal_push"]`, `secret = (secret from env())`},
		},
		{
			name: "client removed", old: apiClientPortal, new: "", change: Removed,
		},
		{
			name:     "allowed_ips widened",
			old:      apiClientPortal,
			new:      strings.Replace(apiClientPortal, `"192.0.2.10"`, `"192.0.2.0/24"`, 1),
			change:   Changed,
			lines:    []string{`allowed_ips: ["192.0.2.10/32", "198.51.100.0/24"] → ["192.0.2.0/24", "198.51.100.0/24"]`},
			warnings: []string{`allowed_ips widened: 192.0.2.0/24 added`},
		},
		{
			name:        "allowed_ips narrowed",
			old:         apiClientPortal,
			new:         strings.Replace(apiClientPortal, `"198.51.100.0/24"`, `"198.51.100.7"`, 1),
			change:      Changed,
			notWarnings: []string{"allowed_ips"},
		},
		{
			name:     "journey without MFA added",
			old:      apiClientPortal,
			new:      strings.Replace(apiClientPortal, `[journey.portal_push]`, `[journey.portal_push, journey.plain]`, 1),
			change:   Changed,
			lines:    []string{`journeys: ["portal_push"] → ["plain", "portal_push"]`},
			warnings: []string{`may now start journey plain, which reaches success without MFA`},
		},
		{
			name:     "callback URL added",
			old:      apiClientPortal,
			new:      strings.Replace(apiClientPortal, `["https://portal.example.com/a"]`, `["https://portal.example.com/a", "https://evil.example.net/b"]`, 1),
			change:   Changed,
			warnings: []string{`callback URL added: https://evil.example.net/b`},
		},
		{
			name:     "callback_auth removed",
			old:      apiClientPortal,
			new:      strings.Replace(apiClientPortal, "callback_auth {\n    username = \"authd\"\n    password = env(\"CALLBACK_PASSWORD\")\n  }", "", 1),
			change:   Changed,
			lines:    []string{`callback_auth.username = "authd"`},
			warnings: []string{`callback_auth removed`},
		},
		{
			name:     "secret made literal",
			old:      apiClientPortal,
			new:      strings.Replace(apiClientPortal, `env("PORTAL_SECRET")`, `"correct-horse-battery"`, 1),
			change:   Changed,
			warnings: []string{`secret made literal: secret came from env()`},
		},
		{
			name:   "template changed",
			old:    apiClientPortal,
			new:    strings.Replace(apiClientPortal, `Gerät: [browser]`, `Gerät: [browser] [city]`, 1),
			change: Changed,
			lines:  []string{`message_templates["de"]: "[message] Gerät: [browser]" → "[message] Gerät: [browser] [city]"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Compare(loadAPIClient(t, tc.old), loadAPIClient(t, tc.new))
			var sec *Section
			for _, s := range r.Sections {
				if s.Kind == "api_client" {
					sec = s
				} else {
					t.Errorf("unexpected section %s %s", s.Title(), s.Change)
				}
			}
			var txt bytes.Buffer
			if err := WriteText(&txt, r); err != nil {
				t.Fatal(err)
			}
			report := txt.String()
			switch {
			case tc.change == "" && sec != nil:
				t.Fatalf("want no change:\n%s", report)
			case tc.change != "" && (sec == nil || sec.Change != tc.change || sec.Title() != `api_client "portal"`):
				t.Fatalf("want api_client \"portal\" %s:\n%s", tc.change, report)
			}
			for _, l := range tc.lines {
				if !strings.Contains(report, l) {
					t.Errorf("report lacks %q:\n%s", l, report)
				}
			}
			var warns []string
			for _, w := range r.Warnings {
				if w.Subject != `api_client "portal"` {
					t.Errorf("warning for %s: %s", w.Subject, w.Message)
				}
				warns = append(warns, w.Message)
			}
			all := strings.Join(warns, "\n")
			if len(warns) != len(tc.warnings) {
				t.Errorf("%d warnings, want %d:\n%s", len(warns), len(tc.warnings), all)
			}
			for _, w := range tc.warnings {
				if !strings.Contains(all, w) {
					t.Errorf("no warning %q in:\n%s", w, all)
				}
			}
			for _, w := range tc.notWarnings {
				if strings.Contains(all, w) {
					t.Errorf("unexpected warning %q in:\n%s", w, all)
				}
			}
			if strings.Contains(report, "correct-horse") || strings.Contains(report, "value-of-") {
				t.Fatalf("a secret value is in the report:\n%s", report)
			}
		})
	}
}

// TestAPIClientViewComplete: every setting of dsl.APIClient is compared, so
// a new one cannot slip through a review unseen.
func TestAPIClientViewComplete(t *testing.T) {
	names := func(typ reflect.Type) []string {
		var out []string
		for i := 0; i < typ.NumField(); i++ {
			if f := typ.Field(i); !skipFields[f.Name] && f.Type != rangeType {
				out = append(out, f.Name)
			}
		}
		return out
	}
	got, want := names(reflect.TypeOf(apiClientView{})), names(reflect.TypeOf(dsl.APIClient{}))
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("apiClientView compares %v; dsl.APIClient has %v", got, want)
	}
	ca, ga := names(reflect.TypeOf(callbackAuthView{})), names(reflect.TypeOf(dsl.CallbackAuth{}))
	if strings.Join(ca, ",") != strings.Join(ga, ",") {
		t.Errorf("callbackAuthView compares %v; dsl.CallbackAuth has %v", ca, ga)
	}
}

func TestCoveredBy(t *testing.T) {
	parse := func(s string) *net.IPNet {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	old := []*net.IPNet{parse("192.0.2.0/24"), parse("2001:db8::/32")}
	for cidr, want := range map[string]bool{
		"192.0.2.0/24": true, "192.0.2.128/25": true, "192.0.2.7/32": true,
		"192.0.0.0/16": false, "198.51.100.0/24": false, "2001:db8:1::/48": true, "2001::/16": false, "0.0.0.0/0": false,
	} {
		if got := coveredBy(parse(cidr), old); got != want {
			t.Errorf("coveredBy(%s) = %v; want %v", cidr, got, want)
		}
	}
}
