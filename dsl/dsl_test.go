package dsl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/authd/authd/engine"
)

func loadRef(t *testing.T) *Config {
	t.Helper()
	cfg, diags := Load([]string{"examples/reference"}, testOptions())
	if diags.HasErrors() {
		t.Fatalf("reference example:\n%s", render(t, diags, cfg.Files))
	}
	return cfg
}

// TestReferenceContents checks that the decoded configuration carries
// what the reference example says, defaults included.
func TestReferenceContents(t *testing.T) {
	cfg := loadRef(t)

	if got := cfg.Server.HTTP.PublicURL; got != "https://auth.example.com" {
		t.Errorf("public_url = %q", got)
	}
	if cfg.Server.RADIUS == nil || cfg.Server.RADIUS.Listen != "127.0.0.1:1812" {
		t.Errorf("radius listener = %+v", cfg.Server.RADIUS)
	}
	if cfg.Server.Store.Path != "authd.db" || cfg.Server.Store.EncryptionKey.IsSet() {
		t.Errorf("store = %+v", cfg.Server.Store)
	}

	r := cfg.Program.Realms["corp"]
	if r == nil || r.DisplayName != "Example Corp" || r.SMSGateway != "default" || len(r.PushProviders) != 3 || r.Lockout == nil || r.Lockout.MaxFailures != 5 || r.Lockout.Window != 15*time.Minute {
		t.Errorf("realm corp = %+v", r)
	}

	c := cfg.RADIUSClients["fortigate"]
	if c == nil || c.Address.String() != "127.0.0.1/32" || c.Secret.Value() != testEnv["FORTIGATE_SECRET"] || c.Secret.Source() != "env" ||
		!c.RequireMessageAuthenticator || !c.LimitProxyState || c.Timeout != 130*time.Second {
		t.Errorf("radius_client fortigate = %+v", c)
	}
	if len(cfg.RADIUSPolicies) != 1 {
		t.Fatalf("policies = %d", len(cfg.RADIUSPolicies))
	}
	p := cfg.RADIUSPolicies[0]
	if p.Name != "vpn" || p.Realm != "corp" || p.Journey != "vpn" || len(p.Clients) != 1 || p.When == nil || p.ReplyAttributes == nil {
		t.Errorf("radius_policy = %+v", p)
	}

	rp := cfg.RelyingParties["grafana"]
	if rp == nil || rp.ClientID != "grafana" || rp.PKCE != "required" || rp.AccessTokenFormat != "jwt" || rp.AccessTokenTTL != 10*time.Hour ||
		rp.RefreshTokenTTL != 24*time.Hour || rp.ClientSecret.Value() != testEnv["GRAFANA_SECRET"] || len(rp.Claims) != 1 || rp.Claims[0].Scope != "groups" {
		t.Errorf("relying_party grafana = %+v", rp)
	}
	if pr := cfg.ProtectedResources["orders_api"]; pr == nil || pr.TokenValidation != "internal" || pr.RequiredScopes[0] != "orders:read" {
		t.Errorf("protected_resource = %+v", pr)
	}
	if idp := cfg.IdentityProviders["google"]; idp == nil || !idp.PKCE || idp.ClientID != testEnv["G_ID"] || idp.Issuer != "https://accounts.google.com" {
		t.Errorf("identity_provider = %+v", idp)
	}
	if pp := cfg.PushProviders["ios"]; pp == nil || pp.APNS == nil || pp.APNS.KeyFile != filepath.Join("examples/reference", "secrets/AuthKey.p8") {
		t.Errorf("push_provider ios = %+v", pp)
	}
	if g := cfg.SMSGateways["default"]; g == nil || g.Twilio == nil || g.Twilio.AuthToken.Value() != testEnv["TW_TOKEN"] || g.Twilio.From != "+15550100" {
		t.Errorf("sms_gateway = %+v", g)
	}

	vpn := cfg.Program.Journeys["vpn"]
	if vpn == nil || vpn.Start != "login" || vpn.Realm != "corp" || vpn.SessionTimeout != engine.DefaultSessionTimeout || vpn.Revision == "" {
		t.Fatalf("journey vpn = %+v", vpn)
	}
	if got := vpn.Nodes["check"].Edges["success"]; got != "mfa" {
		t.Errorf("check --success--> %q", got)
	}
	if got := vpn.Nodes["login"].Edges["next"]; got != "check" {
		t.Errorf("login --next--> %q", got)
	}
	for name, n := range vpn.Nodes {
		if n.Node == nil {
			t.Errorf("node %s was not built", name)
		}
	}
	want := []string{"mfa_method", "push_failure_reason", "push_message_id"}
	if fmt.Sprint(vpn.StateKeys) != fmt.Sprint(want) {
		t.Errorf("state keys = %v, want %v", vpn.StateKeys, want)
	}
	if cfg.Journeys["vpn"].Nodes[0].Name != "login" {
		t.Errorf("node order not kept")
	}
}

func TestRevisions(t *testing.T) {
	src := func(msg string) map[string][]byte {
		return map[string][]byte{
			"a.hcl": []byte(`realm "r" {}
journey "one" {
  realm = realm.r
  start = node.m
  node "message" "m" {
    text = "` + msg + `"
    next = success
  }
}
journey "two" {
  realm = realm.r
  start = node.m
  node "message" "m" {
    text = "same"
    next = success
  }
}
`)}
	}
	a, d := LoadSources(src("hello"), "", testOptions())
	if len(d) > 0 {
		t.Fatal(render(t, d, a.Files))
	}
	b, _ := LoadSources(src("hello"), "", testOptions())
	c, _ := LoadSources(src("changed"), "", testOptions())
	if a.Program.Revision != b.Program.Revision || a.Program.Revision == c.Program.Revision {
		t.Errorf("program revisions: same sources must match, changed ones differ")
	}
	if a.Program.Journeys["one"].Revision == c.Program.Journeys["one"].Revision {
		t.Errorf("journey one changed but kept its revision")
	}
	if a.Program.Journeys["two"].Revision != c.Program.Journeys["two"].Revision {
		t.Errorf("journey two did not change but its revision did")
	}
}

func TestPolicyOrderAcrossFiles(t *testing.T) {
	files := map[string][]byte{
		"b.hcl": []byte(`radius_policy "third" {
  realm   = realm.r
  journey = journey.j
}`),
		"a.hcl": []byte(`server {
  radius {}
}
realm "r" {}
journey "j" {
  realm = realm.r
  start = node.c
  node "credentials" "c" { next = node.p }
  node "password_check" "p" {
    outcomes = { success = success, failure = failure, locked = failure }
  }
}
radius_policy "first" {
  realm   = realm.r
  journey = journey.j
}
radius_policy "second" {
  realm   = realm.r
  journey = journey.j
}`),
	}
	cfg, diags := LoadSources(files, "", testOptions())
	if len(diags) > 0 {
		t.Fatal(render(t, diags, cfg.Files))
	}
	var names []string
	for _, p := range cfg.RADIUSPolicies {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "first,second,third" {
		t.Errorf("policy order = %v", names)
	}
	if cfg.Server.RADIUS.Listen != DefaultRADIUSListen {
		t.Errorf("radius {} listen = %q", cfg.Server.RADIUS.Listen)
	}
}

func TestDefaults(t *testing.T) {
	cfg, diags := LoadSources(map[string][]byte{"x.hcl": []byte(`realm "r" {}`)}, "", testOptions())
	if len(diags) > 0 {
		t.Fatal(render(t, diags, cfg.Files))
	}
	if cfg.Server.HTTP.Listen != "127.0.0.1:9000" || cfg.Server.Store.Path != "authd.db" || cfg.Server.RADIUS != nil {
		t.Errorf("server defaults = %+v", cfg.Server)
	}
	r := cfg.Program.Realms["r"]
	if r.DisplayName != "r" || r.EnrollmentMode != "single_device" || r.DefaultLocale != "en" || r.Lockout != nil {
		t.Errorf("realm defaults = %+v", r)
	}
}

func TestFileFunction(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "secrets"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secrets", "s.txt"), []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "outside.txt")
	if err := os.WriteFile(outside, []byte("outside"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	src := func(path string) map[string][]byte {
		return map[string][]byte{"main.hcl": []byte(fmt.Sprintf(`radius_client "c" {
  address = "192.0.2.1"
  secret  = file(%q)
}`, path))}
	}

	cfg, diags := LoadSources(src("secrets/s.txt"), dir, testOptions())
	if len(diags) > 0 {
		t.Fatal(render(t, diags, cfg.Files))
	}
	if s := cfg.RADIUSClients["c"].Secret; s.Value() != "from-a-file" || s.Source() != "file" {
		t.Errorf("secret = %q from %q (the trailing newline must go)", s.Value(), s.Source())
	}
	if len(cfg.SecretFiles) != 1 || filepath.Base(cfg.SecretFiles[0]) != "s.txt" {
		t.Errorf("SecretFiles = %v", cfg.SecretFiles)
	}

	for _, tc := range []struct{ path, want string }{
		{"link.txt", "symbolic link"},
		{"../x", "outside the configuration directory"},
		{"secrets", "is a directory"},
	} {
		_, diags = LoadSources(src(tc.path), dir, testOptions())
		if !diags.HasErrors() || !strings.Contains(diags.Error(), tc.want) {
			t.Errorf("file(%q): want an error containing %q, got %v", tc.path, tc.want, diags)
		}
	}

	// No directory: file() is refused outright (the embedded quick start).
	_, diags = LoadSources(src("secrets/s.txt"), "", testOptions())
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "not loaded from a directory") {
		t.Errorf("file() without a directory: %v", diags)
	}

	// A missing file warns for validate and fails for run.
	_, diags = LoadSources(src("secrets/missing.txt"), dir, testOptions())
	if diags.HasErrors() || len(diags) != 1 {
		t.Errorf("missing file at validate: %v", diags)
	}
	opts := testOptions()
	opts.RequireEnv = true
	_, diags = LoadSources(src("secrets/missing.txt"), dir, opts)
	if !diags.HasErrors() {
		t.Errorf("missing file at run must be an error")
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	s := newSecret("hunter2-value", "literal")
	type holder struct {
		S Secret
		P *Secret
	}
	h := holder{S: s, P: &s}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X", "%10s"} {
		outs = append(outs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, h))
	}
	j, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j))
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("x", "secret", s, "holder", h)
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("x", "secret", s)
	outs = append(outs, logBuf.String())
	for _, o := range outs {
		if strings.Contains(o, "hunter2") || strings.Contains(o, fmt.Sprintf("%x", "hunter2")) {
			t.Errorf("secret leaked: %s", o)
		}
	}
	if s.Value() != "hunter2-value" {
		t.Errorf("Value() = %q", s.Value())
	}
	if (Secret{}).String() != "" || (Secret{}).IsSet() {
		t.Errorf("zero Secret should read as unset")
	}
}

// TestLiteralSecretMasked checks that a literal secret is absent from
// every output format, snippets included, and from Config.Files.
func TestLiteralSecretMasked(t *testing.T) {
	cfg, diags := Load([]string{"testdata/invalid/literal_secret.hcl"}, testOptions())
	for _, format := range []string{"text", "json", "github"} {
		var b bytes.Buffer
		if err := WriteDiagnostics(&b, diags, cfg.Files, format, 80); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), "literal-secret-value") {
			t.Errorf("%s output reveals a literal secret:\n%s", format, b.String())
		}
	}
	for _, f := range cfg.Files {
		if bytes.Contains(f.Bytes, []byte("literal-secret-value")) {
			t.Errorf("Config.Files keeps a literal secret")
		}
	}
	// The values themselves are still there for the server.
	if got := cfg.RADIUSClients["nas"].Secret.Value(); got != "literal-secret-value-radius" {
		t.Errorf("secret value = %q", got)
	}
	if got := cfg.SMSGateways["hook"].Webhook.Headers["Content-Type"].Value(); got != "application/json" {
		t.Errorf("header = %q", got)
	}
}

func TestWriteDiagnosticsFormats(t *testing.T) {
	rng := hcl.Range{Filename: "a,b:c.hcl", Start: hcl.Pos{Line: 3, Column: 5, Byte: 20}, End: hcl.Pos{Line: 3, Column: 9, Byte: 24}}
	diags := hcl.Diagnostics{
		{Severity: hcl.DiagError, Summary: "Bad, really: bad", Detail: "100% wrong\nsecond line", Subject: &rng},
		{Severity: hcl.DiagWarning, Summary: "No place", Detail: "Detail."},
	}
	var b bytes.Buffer
	if err := WriteDiagnostics(&b, diags, nil, "github", 0); err != nil {
		t.Fatal(err)
	}
	want := "::error file=a%2Cb%3Ac.hcl,line=3,col=5,endLine=3,endColumn=9,title=Bad%2C really%3A bad::100%25 wrong%0Asecond line\n" +
		"::warning title=No place::Detail.\n"
	if b.String() != want {
		t.Errorf("github:\n%s\nwant:\n%s", b.String(), want)
	}

	b.Reset()
	if err := WriteDiagnostics(&b, diags, nil, "json", 0); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("json output does not parse: %v\n%s", err, b.String())
	}
	if len(got) != 2 || got[0]["severity"] != "error" || got[0]["filename"] != "a,b:c.hcl" || got[0]["line"] != 3.0 ||
		got[0]["column"] != 5.0 || got[0]["end_line"] != 3.0 || got[0]["end_column"] != 9.0 || got[1]["severity"] != "warning" || got[1]["line"] != 0.0 {
		t.Errorf("json = %s", b.String())
	}

	b.Reset()
	if err := WriteDiagnostics(&b, nil, nil, "json", 0); err != nil || strings.TrimSpace(b.String()) != "[]" {
		t.Errorf("no diagnostics as json = %q, %v", b.String(), err)
	}
	if err := WriteDiagnostics(&b, diags, nil, "xml", 0); err == nil {
		t.Errorf("unknown format accepted")
	}
	b.Reset()
	if err := WriteDiagnostics(&b, diags, nil, "text", 0); err != nil || strings.Contains(b.String(), "\x1b[") {
		t.Errorf("text to a buffer must have no colour: %q %v", b.String(), err)
	}
}

func TestFormat(t *testing.T) {
	out, diags := Format([]byte("realm \"a\" {\ndisplay_name=\"A\"\n  default_locale = \"en\"\n}\n"), "x.hcl")
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	want := "realm \"a\" {\n  display_name   = \"A\"\n  default_locale = \"en\"\n}\n"
	if string(out) != want {
		t.Errorf("Format:\n%s\nwant:\n%s", out, want)
	}
	if _, diags := Format([]byte("realm \"a\" {\n"), "x.hcl"); !diags.HasErrors() {
		t.Errorf("a syntax error must come back as a diagnostic")
	}
	for _, ex := range []string{"examples/quickstart/authd.hcl", "examples/reference/journeys.hcl", "examples/reference/oauth.hcl", "examples/reference/radius.hcl", "examples/reference/realm.hcl", "examples/reference/server.hcl"} {
		src, err := os.ReadFile(ex)
		if err != nil {
			t.Fatal(err)
		}
		if out, _ := Format(src, ex); !bytes.Equal(out, src) {
			t.Errorf("%s is not canonically formatted (authd fmt would change it)", ex)
		}
	}
}

func TestGraph(t *testing.T) {
	cfg := loadRef(t)
	for _, format := range []string{"mermaid", "dot"} {
		got, err := Graph(cfg, "vpn", format)
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "graph", "vpn."+format)
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s graph differs from %s:\n%s", format, golden, got)
		}
	}
	if _, err := Graph(cfg, "vnp", "mermaid"); err == nil || !strings.Contains(err.Error(), `did you mean "vpn"`) {
		t.Errorf("unknown journey: %v", err)
	}
	if _, err := Graph(cfg, "vpn", "svg"); err == nil {
		t.Errorf("unknown format accepted")
	}
}

func TestDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"0": 0, "120s": 120 * time.Second, "15m": 15 * time.Minute, "10h": 10 * time.Hour,
		"1d": 24 * time.Hour, "2w": 14 * 24 * time.Hour, "1h30m": 90 * time.Minute, "1.5h": 90 * time.Minute, "500ms": 500 * time.Millisecond,
	} {
		got, err := parseDuration(in)
		if err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "10", "-5s", "5 s", "5y", "s", "1e400h", "99999999999999999999w"} {
		if _, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) accepted", in)
		}
	}
	if got := formatDuration(48 * time.Hour); got != "2d" {
		t.Errorf("formatDuration = %q", got)
	}
}

// TestNoPanicOnOddInput feeds shapes the decoders must survive.
func TestNoPanicOnOddInput(t *testing.T) {
	for _, src := range []string{
		`journey "j" { node "credentials" "a" { outcomes = 5 } }`,
		`journey "j" { start = node.a.b  node "x" "y" {} }`,
		`journey "j" { realm = realm["x"] }`,
		`radius_policy "p" { reply_attributes = { (user.name) = 1 } }`,
		`realm "r" { push_providers = push_provider.x }`,
		`journey "j" { node "inner_journey" "a" { journey = journey } }`,
		`journey "j" { node "set_state" "a" { values = null } }`,
		`radius_client "c" { address = "::/0" secret = "x" }`,
		`relying_party "x" { realm = realm.r grant_types = [null] }`,
		`sms_gateway "webhook" "w" { url = "https://x" headers = "x" }`,
		`sms_gateway "webhook" "w" { url = "https://x" headers = { a = [1] } }`,
		`journey "j" { realm = realm.r start = node.a node "condition" "a" { when = state outcomes = { true = success, false = failure } } }`,
		`journey "j" { realm = realm.r start = node.a node "condition" "a" { when = user[0] outcomes = { true = success, false = failure } } }`,
		`realm "r" { display_name = format("%999999999s", "x") }`,
		`realm "r" { display_name = indent(999999999, "a\nb") }`,
		`journey "j" { realm = realm.r start = node.a node "condition" "a" { when = format("%999999999s", user.name) == "" outcomes = { true = success, false = failure } } }`,
	} {
		cfg, _ := LoadSources(map[string][]byte{"x.hcl": []byte(src)}, "", testOptions())
		if cfg == nil {
			t.Errorf("nil config for %q", src)
		}
	}
}
