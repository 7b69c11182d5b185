package dsl

import (
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// TestPublicUsernameStart: a journey whose first node (through inner
// journeys) is a username node, and that no api_client lists, is one
// anyone can start on the journey API as any user: validate warns, and
// -strict leaves it a warning (a passwordless login may be meant so).
func TestPublicUsernameStart(t *testing.T) {
	const journeys = `
realm "corp" {}

journey "named" {
  realm = realm.corp
  start = node.who
  node "username" "who" { next = node.pick }
  node "choice" "pick" {
    options  = ["yes", "no"]
    outcomes = { yes = success, no = failure }
  }
}

journey "login" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = success, failure = failure, locked = failure }
  }
}

journey "outer" {
  realm = realm.corp
  start = node.enter
  node "inner_journey" "enter" {
    journey  = journey.named
    outcomes = { success = success, failure = failure }
  }
}

journey "outer2" {
  realm = realm.corp
  start = node.enter
  node "inner_journey" "enter" {
    journey  = journey.outer
    outcomes = { success = success, failure = failure }
  }
}

journey "after_login" {
  realm = realm.corp
  start = node.enter
  node "inner_journey" "enter" {
    journey  = journey.login
    outcomes = { success = node.more, failure = failure }
  }
  node "inner_journey" "more" {
    journey  = journey.named
    outcomes = { success = success, failure = failure }
  }
}
`
	client := func(js ...string) string {
		return `
api_client "portal" {
  secret      = env("G_SECRET")
  allowed_ips = ["192.0.2.0/24"]
  journeys    = [` + strings.Join(js, ", ") + `]
}
`
	}
	for _, tc := range []struct {
		name   string
		extra  string
		strict bool
		want   []string // journeys warned about, in file order
	}{
		{"no api_client", "", false, []string{"named", "outer", "outer2"}},
		{"strict leaves it a warning", "", true, []string{"named", "outer", "outer2"}},
		{"the username journey listed", client("journey.named"), false, []string{"outer", "outer2"}},
		{"every entry listed", client("journey.named", "journey.outer", "journey.outer2"), true, nil},
		{"a password login listed", client("journey.login"), false, []string{"named", "outer", "outer2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions()
			opts.Strict = tc.strict
			cfg, diags := LoadSources(map[string][]byte{"a.hcl": []byte(journeys + tc.extra)}, "", opts)
			var got []string
			for _, d := range diags {
				if d.Summary != "Anyone can start this journey for any user" {
					t.Fatalf("unexpected diagnostic:\n%s", render(t, diags, cfg.Files))
				}
				if d.Severity != hcl.DiagWarning {
					t.Errorf("severity %v; want a warning, also under -strict", d.Severity)
				}
				name := strings.Trim(strings.Fields(d.Detail)[2], `"`)
				got = append(got, name)
				// It points at the journey's start attribute.
				if src := d.Subject.SliceBytes([]byte(journeys + tc.extra)); !strings.HasPrefix(string(src), "node.") {
					t.Errorf("%s: points at %q; want the start attribute", name, src)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("warned about %v; want %v", got, tc.want)
			}
		})
	}
}

// TestPublicUsernameStartDetail: the warning says what the exposure is
// and both ways out, and names the inner journeys a start goes through.
func TestPublicUsernameStartDetail(t *testing.T) {
	src := `
realm "corp" {}
journey "who" {
  realm = realm.corp
  start = node.ask
  node "username" "ask" { next = success }
}
journey "outer" {
  realm = realm.corp
  start = node.enter
  node "inner_journey" "enter" {
    journey  = journey.who
    outcomes = { success = success, failure = failure }
  }
}
`
	_, diags := LoadSources(map[string][]byte{"a.hcl": []byte(src)}, "", testOptions())
	if len(diags) != 2 {
		t.Fatalf("%d diagnostics; want 2: %v", len(diags), diags)
	}
	for i, want := range []string{
		`The journey "who" starts with the username node "ask"`,
		`The journey "outer" starts in the inner journey "who", whose first node is the username node "ask"`,
	} {
		d := diags[i].Detail
		for _, s := range []string{want, "anyone can start it on the journey API as any user", "list the journey in its api_client's journeys", "credentials, then password_check", "-strict leaves this a warning"} {
			if !strings.Contains(d, s) {
				t.Errorf("detail %q lacks %q", d, s)
			}
		}
	}
}

// TestClientJourneyElsewhere: a journey an api_client lists cannot also be
// a relying party's or a RADIUS policy's, which would start it for anyone.
func TestClientJourneyElsewhere(t *testing.T) {
	const base = `
realm "corp" {}
journey "portal_push" {
  realm = realm.corp
  start = node.who
  node "username" "who" { next = success }
}
journey "login" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = success, failure = failure, locked = failure }
  }
}
api_client "portal" {
  secret      = env("G_SECRET")
  allowed_ips = ["192.0.2.0/24"]
  journeys    = [journey.portal_push]
}
`
	rp := func(j string) string {
		return `
relying_party "web" {
  realm         = realm.corp
  client_type   = "confidential"
  client_id     = "web"
  client_secret = env("WEB_SECRET")
  redirect_uris = ["https://app.example.com/cb"]
  journey       = journey.` + j + `
}
`
	}
	for _, tc := range []struct {
		name, extra string
		want        bool
	}{
		{"a relying party on the portal's journey", rp("portal_push"), true},
		{"a relying party on its own journey", rp("login"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, diags := LoadSources(map[string][]byte{"a.hcl": []byte(base + tc.extra)}, "", testOptions())
			got := false
			for _, d := range diags {
				if d.Summary == "Journey started only by api_clients" {
					got = d.Severity == hcl.DiagError && strings.Contains(d.Detail, `The relying_party "web" runs the journey "portal_push"`)
				}
			}
			if got != tc.want {
				t.Errorf("error %v, want %v:\n%s", got, tc.want, render(t, diags, cfg.Files))
			}
		})
	}
}
