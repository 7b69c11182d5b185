package diff

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authd/authd/dsl"
	_ "github.com/authd/authd/nodes"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const repoRoot = "../.."

// env stands in for the environment: every variable is set, to a value
// naming it, so secrets compare by value.
func env(name string) (string, bool) { return "value-of-" + name, true }

func load(t *testing.T, dir string) *dsl.Config {
	t.Helper()
	cfg, diags := dsl.Load([]string{dir}, dsl.Options{LookupEnv: env})
	if diags.HasErrors() {
		var b bytes.Buffer
		_ = dsl.WriteDiagnostics(&b, diags, cfg.Files, "text", 0)
		t.Fatalf("%s:\n%s", dir, b.String())
	}
	return cfg
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "diff", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

func compareCase(t *testing.T, name string) *Report {
	t.Helper()
	dir := filepath.Join("testdata", "diff", name)
	return Compare(load(t, filepath.Join(dir, "old")), load(t, filepath.Join(dir, "new")))
}

// TestGolden compares the text and Markdown reports of each case.
func TestGolden(t *testing.T) {
	t.Chdir(repoRoot)
	for _, name := range []string{"weaken", "same", "inner", "url_credentials"} {
		t.Run(name, func(t *testing.T) {
			r := compareCase(t, name)
			var txt, md bytes.Buffer
			if err := WriteText(&txt, r); err != nil {
				t.Fatal(err)
			}
			if err := WriteMarkdown(&md, r, "authd diff: old → new"); err != nil {
				t.Fatal(err)
			}
			golden(t, name+".txt.golden", txt.Bytes())
			golden(t, name+".md.golden", md.Bytes())
		})
	}
}

// TestWarnings pins each security warning to the change that causes it.
func TestWarnings(t *testing.T) {
	t.Chdir(repoRoot)
	r := compareCase(t, "weaken")
	var got []string
	for _, w := range r.Warnings {
		got = append(got, w.Subject+": "+w.Message+" "+w.Path)
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		`journey "vpn": MFA removed from a path to success login --next--> check --locked--> success`,
		`relying_party "wiki": PKCE relaxed: required → optional`,
		`relying_party "wiki": access_token_ttl raised: 1h → 1d`,
		`relying_party "wiki": secret made literal: client_secret came from env()`,
		`relying_party "wiki": redirect URI added: https://wiki2.example.com/callback`,
		`radius_client "fw": require_message_authenticator turned off`,
		`radius_client "fw": address widened: 192.0.2.10/32 → 192.0.2.0/24`,
		`realm "corp": account lockout removed`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no warning %q in:\n%s", want, all)
		}
	}
	if len(r.Warnings) != 8 {
		t.Errorf("%d warnings, want 8:\n%s", len(r.Warnings), all)
	}
	for _, s := range r.Sections {
		if strings.Contains(strings.Join(flattenLines(s), "\n"), "correct-horse") {
			t.Fatalf("a secret value is in the report: %+v", s)
		}
	}
}

// TestURLCredentialsMasked: URL passwords (and a token written as the
// user name) never reach the text or Markdown report, whether the URL is
// a setting or quoted by a warning; a change of the password alone is
// still reported, as "(value changed)".
func TestURLCredentialsMasked(t *testing.T) {
	t.Chdir(repoRoot)
	r := compareCase(t, "url_credentials")
	var txt, md bytes.Buffer
	if err := WriteText(&txt, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, r, ""); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{txt.String(), md.String()} {
		for _, secret := range []string{"OldPushPassword", "NewPushPassword", "NewSmsToken", "NewRedirectPassword"} {
			if strings.Contains(out, secret) {
				t.Errorf("the report reveals %q:\n%s", secret, out)
			}
		}
	}
	for _, want := range []string{
		`~ webhook.url: "https://push:*****@push.example.com/send" → "https://push:*****@push.example.com/send" (value changed)`,
		`~ webhook.url: "https://sms.example.com/send" → "https://*****@sms.example.com/send?to=x"`,
		`! relying_party "wiki": redirect URI added: https://wiki:*****@evil.example.net/cb`,
	} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("want %q in:\n%s", want, txt.String())
		}
	}
}

func flattenLines(s *Section) []string {
	var out []string
	for _, l := range s.Lines {
		out = append(out, l.Key, l.Old, l.New)
	}
	return out
}

// TestInnerJourneyMFA: MFA proven inside an inner journey guards its
// caller; losing it there is reported for both, and a relying party moved
// to an unguarded journey is reported too.
func TestInnerJourneyMFA(t *testing.T) {
	t.Chdir(repoRoot)
	old := load(t, filepath.Join("testdata", "diff", "inner", "old"))
	m := newMFA(old)
	if !m.guarded("web") || !m.guarded("code") || m.guarded("plain") {
		t.Fatalf("guarded: web %v code %v plain %v", m.guarded("web"), m.guarded("code"), m.guarded("plain"))
	}
	r := compareCase(t, "inner")
	var subjects []string
	for _, w := range r.Warnings {
		subjects = append(subjects, w.Subject)
	}
	if got := strings.Join(subjects, ","); got != `journey "code",journey "web",relying_party "portal"` {
		t.Fatalf("warnings for %s", got)
	}
}

// TestSameMeaning: reformatting, splitting files, reordering blocks and
// spelling out defaults are no change.
func TestSameMeaning(t *testing.T) {
	t.Chdir(repoRoot)
	if r := compareCase(t, "same"); !r.Empty() {
		var b bytes.Buffer
		_ = WriteText(&b, r)
		t.Fatalf("changes found:\n%s", b.String())
	}
}

// TestExamplesGuarded: the examples' MFA journeys are recognised as such,
// so removing MFA from them would be caught.
func TestExamplesGuarded(t *testing.T) {
	t.Chdir(repoRoot)
	cfg := load(t, filepath.Join("examples", "reference"))
	m := newMFA(cfg)
	for j, want := range map[string]bool{"vpn": true, "web": true, "code": true} {
		if got := m.guarded(j); got != want {
			t.Errorf("guarded(%s) = %v, want %v (bypass %v)", j, got, want, m.bypass(j))
		}
	}
	q := load(t, filepath.Join("examples", "quickstart"))
	if newMFA(q).guarded("login") {
		t.Error("the quick start's password-only journey reads as MFA")
	}
	if r := Compare(cfg, cfg); !r.Empty() {
		t.Error("a configuration differs from itself")
	}
	if r := Compare(nil, q); len(r.Sections) == 0 || r.Sections[1].Change != Added {
		t.Errorf("from nothing: %+v", r.Sections)
	}
}

func TestDurationText(t *testing.T) {
	for d, want := range map[string]string{"10h": "10h", "1d": "1d", "30d": "30d", "2w": "2w", "90s": "1m30s", "36000s": "10h"} {
		v, err := parseDur(d)
		if err != nil {
			t.Fatal(err)
		}
		if got := durationText(v); got != want {
			t.Errorf("durationText(%s) = %s, want %s", d, got, want)
		}
	}
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{"AccessTokenTTL": "access_token_ttl", "ClientID": "client_id", "RequireMessageAuthenticator": "require_message_authenticator", "PKCE": "pkce", "PublicURL": "public_url"} {
		if got := snake(in); got != want {
			t.Errorf("snake(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestAssumeEmailVerifiedWarned: trusting a provider's unverified emails
// lets whoever sets an address upstream sign in as its local owner.
func TestAssumeEmailVerifiedWarned(t *testing.T) {
	cfg := func(assume string) *dsl.Config {
		t.Helper()
		src := `
realm "corp" {}
identity_provider "oidc" "up" {
  issuer        = "https://idp.example.com"
  client_id     = "authd"
  client_secret = env("UP_SECRET")
` + assume + `
}
`
		c, diags := dsl.LoadSources(map[string][]byte{"a.hcl": []byte(src)}, ".", dsl.Options{LookupEnv: env})
		if diags.HasErrors() {
			t.Fatalf("%v", diags)
		}
		return c
	}
	const warning = `assume_email_verified turned on`
	for _, tt := range []struct {
		name     string
		old, new string
		want     bool
	}{
		{"turned on", "", "assume_email_verified = true", true},
		{"turned off", "assume_email_verified = true", "", false},
		{"unchanged on", "assume_email_verified = true", "assume_email_verified = true", false},
	} {
		r := Compare(cfg(tt.old), cfg(tt.new))
		got := false
		for _, w := range r.Warnings {
			got = got || (w.Subject == `identity_provider "up"` && strings.Contains(w.Message, warning))
		}
		if got != tt.want {
			t.Errorf("%s: warned %v, want %v (%+v)", tt.name, got, tt.want, r.Warnings)
		}
	}
}
