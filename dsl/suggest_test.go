package dsl

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// TestMisspeltNames misspells one name in each block type of the
// language and checks that the diagnostic at the misspelling says what
// was meant: "Did you mean" when a name is close, else what the block
// takes.
func TestMisspeltNames(t *testing.T) {
	const journey = `realm "corp" {}
journey "vpn" {
  realm = realm.corp
  start = node.retry
  node "retry_limit" "retry" {
    %s
  }
}
`
	tests := []struct {
		block string
		file  string // default c.hcl
		src   string
		typo  string // the misspelt name, found in src
		want  string // in the diagnostic's detail
	}{
		{block: "top level", src: `radius_clent "vpn" {}`, typo: "radius_clent", want: `Did you mean "radius_client"?`},
		{block: "server", src: "server {\n  htpp {}\n}", typo: "htpp", want: `Did you mean "http"?`},
		{block: "server unknown block", src: "server {\n  metrics {}\n}", typo: "metrics", want: `Only blocks go in the server block: "http", "radius" and "store".`},
		{block: "server.http", src: "server {\n  http {\n    listn = \"127.0.0.1:9000\"\n  }\n}", typo: "listn", want: `Did you mean "listen"?`},
		{block: "server.http.tls", src: "server {\n  http {\n    tls {\n      cert_fle = \"c.pem\"\n      key_file = \"k.pem\"\n    }\n  }\n}", typo: "cert_fle", want: `Did you mean "cert_file"?`},
		{block: "server.radius", src: "server {\n  radius {\n    accounting_lisen = \"127.0.0.1:1813\"\n  }\n}", typo: "accounting_lisen", want: `Did you mean "accounting_listen"?`},
		{block: "server.store", src: "server {\n  store {\n    pth = \"x.db\"\n  }\n}", typo: "pth", want: `Did you mean "path"?`},
		{block: "realm", src: "realm \"corp\" {\n  display_nam = \"Corp\"\n}", typo: "display_nam", want: `Did you mean "display_name"?`},
		{block: "realm.lockout", src: "realm \"corp\" {\n  lockout {\n    max_failure = 5\n  }\n}", typo: "max_failure", want: `Did you mean "max_failures"?`},
		{block: "journey", src: "realm \"corp\" {}\njourney \"vpn\" {\n  realm = realm.corp\n  start = node.a\n  descripton = \"x\"\n  node \"credentials\" \"a\" {\n    next = success\n  }\n}", typo: "descripton", want: `Did you mean "description"?`},
		{block: "node settings", src: strings.Replace(journey, "%s", "limt = 3\n    outcomes = { retry = node.retry, reject = failure }", 1), typo: "limt", want: `Did you mean "limit"?`},
		{block: "node meta-argument", src: strings.Replace(journey, "%s", "limit = 3\n    outcome = { retry = node.retry, reject = failure }", 1), typo: "outcome", want: `Did you mean "outcomes"?`},
		{block: "node far off", src: strings.Replace(journey, "%s", "limit = 3\n    tries = 2\n    outcomes = { retry = node.retry, reject = failure }", 1), typo: "tries", want: `The arguments of node "retry_limit" "retry" are "limit", `},
		{block: "push_provider apns", src: "push_provider \"apns\" \"ios\" {\n  team_di = \"T\"\n}", typo: "team_di", want: `Did you mean "team_id"?`},
		{block: "push_provider fcm", src: "push_provider \"fcm\" \"android\" {\n  credential_file = \"f.json\"\n}", typo: "credential_file", want: `Did you mean "credentials_file"?`},
		{block: "push_provider webhook", src: "push_provider \"webhook\" \"hook\" {\n  ulr = \"https://push.example.com\"\n}", typo: "ulr", want: `Did you mean "url"?`},
		{block: "push_provider poll", src: "push_provider \"poll\" \"poll\" {\n  url = \"https://push.example.com\"\n}", typo: "url", want: `Nothing goes in push_provider "poll" "poll": leave its body empty.`},
		{block: "sms_gateway twilio", src: "sms_gateway \"twilio\" \"tw\" {\n  acount_sid = env(\"TW_SID\")\n  auth_token = env(\"TW_TOKEN\")\n  from = \"+15550100\"\n}", typo: "acount_sid", want: `Did you mean "account_sid"?`},
		{block: "sms_gateway webhook", src: "sms_gateway \"webhook\" \"sms\" {\n  url = \"https://sms.example.com\"\n  header = {}\n}", typo: "header", want: `Did you mean "headers"?`},
		{block: "sms_gateway log", src: "sms_gateway \"log\" \"dev\" {\n  from = \"+15550100\"\n}", typo: "from", want: `Nothing goes in sms_gateway "log" "dev": leave its body empty.`},
		{block: "radius_client", src: "radius_client \"vpn\" {\n  adress = \"127.0.0.1\"\n  secret = env(\"FORTIGATE_SECRET\")\n}", typo: "adress", want: `Did you mean "address"?`},
		{block: "radius_client far off", src: "radius_client \"vpn\" {\n  ip = \"127.0.0.1\"\n  secret = env(\"FORTIGATE_SECRET\")\n}", typo: "ip", want: `The arguments of radius_client "vpn" are "address", "secret", "require_message_authenticator", "limit_proxy_state" and "timeout".`},
		{block: "radius_client JSON", file: "c.hcl.json", src: `{"radius_client": {"vpn": {"adress": "127.0.0.1", "secret": "${env(\"FORTIGATE_SECRET\")}"}}}`, typo: "adress", want: `Did you mean "address"?`},
		{block: "radius_policy", src: "radius_policy \"vpn\" {\n  client = []\n  realm = realm.corp\n  journey = journey.vpn\n}", typo: "client", want: `Did you mean "clients"?`},
		{block: "relying_party", src: "relying_party \"app\" {\n  realm = realm.corp\n  redirect_uri = []\n}", typo: "redirect_uri", want: `Did you mean "redirect_uris"?`},
		{block: "relying_party claim", src: "relying_party \"app\" {\n  realm = realm.corp\n  claim \"groups\" {\n    scop = \"groups\"\n    value = user.groups\n  }\n}", typo: "scop", want: `Did you mean "scope"?`},
		{block: "relying_party block", src: "relying_party \"app\" {\n  realm = realm.corp\n  claims {}\n}", typo: "claims", want: `Did you mean "claim"?`},
		{block: "protected_resource", src: "protected_resource \"api\" {\n  realm = realm.corp\n  required_scope = []\n}", typo: "required_scope", want: `Did you mean "required_scopes"?`},
		{block: "protected_resource header", src: "protected_resource \"api\" {\n  realm = realm.corp\n  header \"X-Email\" {\n    claims = \"email\"\n  }\n}", typo: "claims", want: `Did you mean "claim"?`},
		{block: "identity_provider", src: "identity_provider \"oidc\" \"google\" {\n  isuer = \"https://accounts.google.com\"\n  client_id = env(\"G_ID\")\n}", typo: "isuer", want: `Did you mean "issuer"?`},
		{block: "api_client", src: "api_client \"portal\" {\n  secret = env(\"STORE_KEY\")\n  allowed_ip = []\n  journeys = []\n}", typo: "allowed_ip", want: `Did you mean "allowed_ips"?`},
		{block: "api_client callback_auth", src: "api_client \"portal\" {\n  secret = env(\"STORE_KEY\")\n  allowed_ips = []\n  journeys = []\n  callback_auth {\n    usrname = \"u\"\n    password = env(\"STORE_KEY\")\n  }\n}", typo: "usrname", want: `Did you mean "username"?`},
	}
	for _, tt := range tests {
		t.Run(tt.block, func(t *testing.T) {
			file := tt.file
			if file == "" {
				file = "c.hcl"
			}
			at := strings.Index(tt.src, tt.typo)
			if at < 0 {
				t.Fatalf("%q is not in the source", tt.typo)
			}
			line := 1 + strings.Count(tt.src[:at], "\n")
			cfg, diags := LoadSources(map[string][]byte{file: []byte(tt.src)}, "", testOptions())
			d := diagAt(diags, line, tt.typo)
			if d == nil {
				t.Fatalf("no diagnostic about %q on line %d:\n%s", tt.typo, line, render(t, diags, cfg.Files))
			}
			if d.Severity != hcl.DiagError {
				t.Errorf("severity %v, want an error", d.Severity)
			}
			if !strings.Contains(d.Detail, tt.want) {
				t.Errorf("detail %q\nwant it to hold %q", d.Detail, tt.want)
			}
			if n := strings.Count(d.Detail, "Did you mean"); n > 1 {
				t.Errorf("%d suggestions in %q", n, d.Detail)
			}
		})
	}
}

// diagAt is the diagnostic of an unknown name that quotes name and
// starts on line.
func diagAt(diags hcl.Diagnostics, line int, name string) *hcl.Diagnostic {
	for _, d := range diags {
		if d.Subject != nil && d.Subject.Start.Line == line && strings.Contains(d.Detail, `"`+name+`"`) &&
			(strings.HasPrefix(d.Summary, "Unsupported") || strings.HasPrefix(d.Summary, "Extraneous")) {
			return d
		}
	}
	return nil
}
