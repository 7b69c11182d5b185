package dsl

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// TestSecretsMaskedInSyntaxErrors checks that a secret is never shown by a
// diagnostic's snippet, including in a file that does not parse (and so is
// never decoded), while the rest of the line keeps its text and position.
func TestSecretsMaskedInSyntaxErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		src     string
		secrets []string // absent from the output and from Config.Files
		want    []string // present in the output
	}{
		{
			name:    "junk after a secret",
			file:    "nas.hcl",
			src:     "radius_client \"nas\" {\n  address = \"192.0.2.1\"\n  secret = \"SuperSecretValue123456789\" x\n}\n",
			secrets: []string{"SuperSecretValue123456789"},
			want:    []string{"on nas.hcl:3:40", `3:   secret = "*************************" *`, "^"},
		},
		{
			name:    "unterminated secret",
			file:    "nas.hcl",
			src:     "radius_client \"nas\" {\n  secret = \"SuperSecretValue123456789\n  address = \"192.0.2.1\"\n}\n",
			secrets: []string{"SuperSecretValue123456789"},
			want:    []string{`2:   secret = "*************************`, `3:   address = "192.0.2.1"`},
		},
		{
			name:    "secret on the line after an unterminated string",
			file:    "nas.hcl",
			src:     "radius_client \"nas\" {\n  address = \"192.0.2.1\n  secret = \"SuperSecretValue123456789\"\n}\n",
			secrets: []string{"SuperSecretValue123456789"},
			want:    []string{`2:   address = "192.0.2.1`, `3:   secret = "*************************"`},
		},
		{
			name:    "secret after an unterminated heredoc",
			file:    "nas.hcl",
			src:     "radius_client \"nas\" {\n  address = <<EOT\n192.0.2.1\n  secret = \"SuperSecretValue123456789\"\n}\n",
			secrets: []string{"SuperSecretValue123456789"},
			want:    []string{"3: 192.0.2.1", `4:   secret = "*************************"`},
		},
		{
			name:    "heredoc secret",
			file:    "nas.hcl",
			src:     "radius_client \"nas\" {\n  secret = <<EOT\nHeredocSecretValue ${\nEOT\n}\n",
			secrets: []string{"HeredocSecretValue"},
			want:    []string{"3: ******************"},
		},
		{
			name:    "unquoted secret",
			file:    "nas.hcl",
			src:     "radius_client \"nas\" {\n  secret = Hunter$Two#Three\n}\n",
			secrets: []string{"Hunter", "Two", "Three"},
			want:    []string{"2:   secret = ****************\n"},
		},
		{
			name: "env() stays readable",
			file: "nas.hcl",
			src:  "radius_client \"nas\" {\n  secret = env(\"NAS_SECRET\") x\n}\n",
			want: []string{`2:   secret = env("NAS_SECRET") *`},
		},
		{
			name:    "function calls stay readable",
			file:    "nas.hcl",
			src:     "radius_client \"nas\" {\n  secret = trimspace(env(\"NAS\")) x\n  secret = trimspace(\"SuperSecretValue123456789\", 1) x\n}\n",
			secrets: []string{"SuperSecretValue123456789"},
			want:    []string{`2:   secret = trimspace(env("NAS")) *`},
		},
		{
			name:    "non-secret attribute in clear",
			file:    "nas.hcl",
			src:     "radius_client \"nas\" {\n  address = \"192.0.2.1\" x\n  secret = \"SuperSecretValue123456789\"\n}\n",
			secrets: []string{"SuperSecretValue123456789"},
			want:    []string{"on nas.hcl:2:25", `2:   address = "192.0.2.1" x`},
		},
		{
			name: "every secret attribute, in a file broken at its end",
			file: "all.hcl",
			src: `server {
  store { encryption_key = "StoreKeyValue" }
}
sms_gateway "twilio" "t" {
  account_sid = "AC123"
  auth_token  = "TwilioTokenValue"
}
sms_gateway "webhook" "w" {
  url = "https://sms.example.com/send"
  headers = {
    Authorization  = "Bearer HeaderSecretValue"
    "X-Api-Key"    = "ApiKeyValue"
    "Content-Type" = "application/json"
  }
}
relying_party "rp" { client_secret = "RPSecretValue" }
api_client "c" {
  secret = "APISecretValue"
  callback_auth {
    username = "hook"
    password = "CallbackPasswordValue"
  }
}
broken {
`,
			secrets: []string{"StoreKeyValue", "TwilioTokenValue", "HeaderSecretValue", "ApiKeyValue", "RPSecretValue", "APISecretValue", "CallbackPasswordValue"},
			want:    []string{"on all.hcl:24"},
		},
		{
			name:    "URL password in any string",
			file:    "w.hcl",
			src:     "sms_gateway \"webhook\" \"w\" {\n  url = \"https://sms:UrlPasswordValue@sms.example.com/send\" x\n}\n",
			secrets: []string{"UrlPasswordValue"},
			want:    []string{`2:   url = "https://sms:****************@sms.example.com/send" x`},
		},
		{
			name:    "JSON syntax",
			file:    "nas.hcl.json",
			src:     `{"radius_client": {"nas": {"address": "192.0.2.1", "secret": "JsonSecretValue123" x}}}`,
			secrets: []string{"JsonSecretValue123"},
			want:    []string{`"address": "192.0.2.1", "secret": "******************" *}`},
		},
		{
			name:    "JSON unterminated secret and headers",
			file:    "hook.hcl.json",
			src:     "{\"sms_gateway\": {\"webhook\": {\"w\": {\"headers\": {\"Content-Type\": \"application/json\", \"Authorization\": \"Bearer JsonHeaderValue\"},\n\"secret\": \"JsonSecretValue123\n}}}}\n",
			secrets: []string{"JsonHeaderValue", "JsonSecretValue123"},
			want:    []string{`2: "secret": "******************`},
		},
		{
			name: "JSON env() stays readable",
			file: "nas.hcl.json",
			src:  `{"radius_client": {"nas": {"secret": "${env(\"NAS_SECRET\")}" x}}}`,
			want: []string{`"secret": "${env(\"NAS_SECRET\")}" *}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, diags := LoadSources(map[string][]byte{tt.file: []byte(tt.src)}, "", testOptions())
			if !diags.HasErrors() {
				t.Fatalf("want a syntax error, got:\n%s", render(t, diags, cfg.Files))
			}
			for _, format := range []string{"text", "json", "github"} {
				var b bytes.Buffer
				if err := WriteDiagnostics(&b, diags, cfg.Files, format, 0); err != nil {
					t.Fatal(err)
				}
				for _, s := range tt.secrets {
					if strings.Contains(b.String(), s) {
						t.Errorf("%s output reveals %q:\n%s", format, s, b.String())
					}
				}
			}
			out := render(t, diags, cfg.Files)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			f := cfg.Files[tt.file]
			if f == nil || len(f.Bytes) != len(tt.src) || bytes.Count(f.Bytes, []byte("\n")) != strings.Count(tt.src, "\n") {
				t.Fatalf("Config.Files[%q] should keep the source's length and lines", tt.file)
			}
			for _, s := range tt.secrets {
				if bytes.Contains(f.Bytes, []byte(s)) {
					t.Errorf("Config.Files keeps %q:\n%s", s, f.Bytes)
				}
			}
		})
	}
}

// TestWriteDiagnosticsMasksRawSources checks that sources a caller passes
// without loading them (`authd fmt` on a file it cannot parse) have their
// secrets masked too.
func TestWriteDiagnosticsMasksRawSources(t *testing.T) {
	src := []byte("radius_client \"nas\" {\n  secret = \"SuperSecretValue123456789\" x\n}\n")
	_, diags := Format(src, "nas.hcl")
	if !diags.HasErrors() {
		t.Fatal("want a syntax error")
	}
	out := render(t, diags, map[string]*hcl.File{"nas.hcl": {Bytes: src}})
	if strings.Contains(out, "SuperSecretValue") || !strings.Contains(out, `2:   secret = "*************************" *`) {
		t.Errorf("want the secret masked in:\n%s", out)
	}
	if !bytes.Contains(src, []byte("SuperSecretValue")) {
		t.Error("WriteDiagnostics changed the caller's source")
	}
}

// TestCallbackURLPasswordHidden checks that no check on callback_urls
// quotes a URL's password, in its detail or its snippet, whichever check
// the URL fails.
func TestCallbackURLPasswordHidden(t *testing.T) {
	tests := []struct {
		name, url, summary string
	}{
		{"user info", "https://hook:CallbackUrlPassword@portal.example.com/r", "Credentials in callback URL"},
		{"fragment too", "https://hook:CallbackUrlPassword@portal.example.com/r#x", "Credentials in callback URL"},
		{"unparsable", "https://hook:CallbackUrlPassword@portal.example.com/%zz", "Invalid callback URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "api_client \"c\" {\n  secret = env(\"C\")\n  allowed_ips = [\"192.0.2.1\"]\n  journeys = []\n  callback_urls = [\"" + tt.url + "\"]\n}\n"
			cfg, diags := LoadSources(map[string][]byte{"c.hcl": []byte(src)}, "", testOptions())
			out := render(t, diags, cfg.Files)
			if !strings.Contains(out, tt.summary) {
				t.Fatalf("want %q in:\n%s", tt.summary, out)
			}
			if strings.Contains(out, "CallbackUrlPassword") {
				t.Errorf("output reveals the URL password:\n%s", out)
			}
		})
	}
}

func TestMaskURLCredentials(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://user:pa55@host/x", "https://user:*****@host/x"},
		{"https://token@host", "https://*****@host"},
		{"https://user:@host", "https://user:@host"},
		{"https://@host", "https://@host"},
		{"https://host/path?mail=a@b.example#c@d", "https://host/path?mail=a@b.example#c@d"},
		{"https://u:p@ss@host/x", "https://u:*****@host/x"},
		{"https://u:p:q@host", "https://u:*****@host"},
		{"HTTP://u:p@host", "HTTP://u:*****@host"},
		{"https://u:p@host/%zz (does not parse)", "https://u:*****@host/%zz (does not parse)"},
		{`posted to "https://a:1@one" and https://b:2@two, then https://three`, `posted to "https://a:*****@one" and https://b:*****@two, then https://three`},
		{"no URL at all: user:password@host", "no URL at all: user:password@host"},
	} {
		if got := MaskURLCredentials(tt.in); got != tt.want {
			t.Errorf("MaskURLCredentials(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestURLCredentials: credentials written into a URL that authd uses are
// a warning (an error with -strict) that names the attribute and shows the
// URL masked; read with env(), the URL is not warned about; and no output
// of validate shows the password, whatever check quotes the URL.
func TestURLCredentials(t *testing.T) {
	const password = "UrlPassword123"
	env := map[string]string{"HOOK_URL": "https://push:" + password + "@push.example.com/send"}
	lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	tests := []struct {
		name, src string
		strict    bool
		want      string // summary of the diagnostic at the URL; "" none
		severity  hcl.DiagnosticSeverity
		detail    string
	}{
		{name: "push webhook", src: `push_provider "webhook" "hook" { url = "https://push:` + password + `@push.example.com/send" }`,
			want: "Credentials in URL", severity: hcl.DiagWarning, detail: `The url of push_provider "hook" holds credentials (https://push:*****@push.example.com/send)`},
		{name: "strict", strict: true, src: `push_provider "webhook" "hook" { url = "https://push:` + password + `@push.example.com/send" }`,
			want: "Credentials in URL", severity: hcl.DiagError, detail: "headers = { Authorization = env("},
		{name: "sms webhook token", src: `sms_gateway "webhook" "sms" { url = "https://` + password + `@sms.example.com/send" }`,
			want: "Credentials in URL", severity: hcl.DiagWarning, detail: "(https://*****@sms.example.com/send)"},
		{name: "from env", src: `push_provider "webhook" "hook" { url = env("HOOK_URL") }`},
		{name: "twilio base_url", src: "sms_gateway \"twilio\" \"tw\" {\n  account_sid = env(\"TW_SID\")\n  auth_token = env(\"TW_TOKEN\")\n  from = \"+15550100\"\n  base_url = \"https://tw:" + password + "@api.example.com\"\n}",
			want: "Credentials in URL", severity: hcl.DiagWarning, detail: "account_sid and auth_token"},
		{name: "public_url", src: "server {\n  http {\n    public_url = \"https://a:" + password + "@auth.example.com\"\n  }\n}",
			want: "Credentials in URL", severity: hcl.DiagWarning, detail: "The public_url of server.http holds credentials (https://a:*****@auth.example.com)"},
		{name: "jwks_url quoted by another check", src: "realm \"corp\" {}\nprotected_resource \"api\" {\n  realm = realm.corp\n  jwks_url = \"https://k:" + password + "@keys.example.com/jwks#x\"\n  issuer = \"https://keys.example.com\"\n}",
			want: "Invalid jwks_url", severity: hcl.DiagError, detail: `not "https://k:*****@keys.example.com/jwks#x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, diags := LoadSources(map[string][]byte{"c.hcl": []byte(tt.src)}, "", Options{LookupEnv: lookup, Strict: tt.strict})
			for _, format := range []string{"text", "json", "github"} {
				var b bytes.Buffer
				if err := WriteDiagnostics(&b, diags, cfg.Files, format, 0); err != nil {
					t.Fatal(err)
				}
				if strings.Contains(b.String(), password) {
					t.Errorf("%s output reveals the URL password:\n%s", format, b.String())
				}
			}
			var got *hcl.Diagnostic
			for _, d := range diags {
				if d.Summary == tt.want || tt.want == "" && strings.Contains(d.Summary, "URL") {
					got = d
				}
			}
			switch {
			case tt.want == "" && got != nil:
				t.Fatalf("unexpected %q: %s", got.Summary, got.Detail)
			case tt.want == "":
				return
			case got == nil:
				t.Fatalf("no %q in:\n%s", tt.want, render(t, diags, cfg.Files))
			}
			if got.Severity != tt.severity {
				t.Errorf("severity %v, want %v", got.Severity, tt.severity)
			}
			if !strings.Contains(got.Detail, tt.detail) {
				t.Errorf("detail %q\nwant it to hold %q", got.Detail, tt.detail)
			}
		})
	}
}
