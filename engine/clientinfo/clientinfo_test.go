package clientinfo_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authd/authd/engine/clientinfo"
	"github.com/authd/authd/engine/clientinfo/geotest"
)

// Current browsers' User-Agent strings (2025/2026 releases).
var userAgents = []struct {
	name, ua, browser, os string
}{
	{"chrome windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.0.0 Safari/537.36", "Chrome", "Windows"},
	{"safari ios 18", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3 Mobile/15E148 Safari/604.1", "Safari", "iOS"},
	{"firefox linux", "Mozilla/5.0 (X11; Linux x86_64; rv:136.0) Gecko/20100101 Firefox/136.0", "Firefox", "Linux"},
	{"edge windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.0.0 Safari/537.36 Edg/134.0.0.0", "Edge", "Windows"},
	{"empty", "", "", ""},
	{"garbage", "curl-ish/\x00\x01", "", ""},
}

func TestParseUserAgent(t *testing.T) {
	for _, tc := range userAgents {
		t.Run(tc.name, func(t *testing.T) {
			b, o := clientinfo.ParseUserAgent(tc.ua)
			if b != tc.browser || o != tc.os {
				t.Errorf("ParseUserAgent = %q, %q; want %q, %q", b, o, tc.browser, tc.os)
			}
		})
	}
}

func testDB(t *testing.T) *clientinfo.GeoDB {
	t.Helper()
	path := geotest.Write(t,
		geotest.Place{Network: "203.0.113.0/24", CountryCode: "CH", Region: "Zurich", City: "Zurich"},
		geotest.Place{Network: "2001:db8::/32", CountryCode: "DE", Region: "Bavaria", City: "Munich"},
	)
	db, err := clientinfo.OpenGeoDB(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestCompose(t *testing.T) {
	db := testDB(t)
	c := &clientinfo.Composer{Geo: db, Templates: map[string]string{"de": "[message] Gerät: [browser] auf [operatingSystem], Ort: [city] ([countryCode])"}}
	chrome := userAgents[0].ua
	tests := []struct {
		name, msg, lang, ip, ua, want string
		geoErr                        bool
	}{
		{"default template", "Log in to the portal.", "en", "203.0.113.7", chrome, "Log in to the portal. Device: Windows Chrome, Location: CH, Zurich, Zurich", false},
		{"language template", "Anmelden", "de-CH", "203.0.113.7", chrome, "Anmelden Gerät: Chrome auf Windows, Ort: Zurich (CH)", false},
		{"unknown language falls back", "Log in", "ja", "2001:db8::1", userAgents[2].ua, "Log in Device: Linux Firefox, Location: DE, Bavaria, Munich", false},
		{"unknown user agent", "Log in", "en", "203.0.113.7", "", "Log in Device: unknown unknown, Location: CH, Zurich, Zurich", false},
		{"address not covered", "Log in", "en", "198.51.100.1", chrome, "Log in", true},
		{"not an address", "Log in", "en", "not-an-ip", chrome, "Log in", true},
		{"mapped ipv4", "Log in", "en", "::ffff:203.0.113.9", chrome, "Log in Device: Windows Chrome, Location: CH, Zurich, Zurich", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := c.Compose(tc.msg, tc.lang, tc.ip, tc.ua)
			if got != tc.want {
				t.Errorf("Compose = %q; want %q", got, tc.want)
			}
			if (err != nil) != tc.geoErr {
				t.Errorf("err = %v; want error %v", err, tc.geoErr)
			}
		})
	}
}

func TestComposeWithoutDatabase(t *testing.T) {
	var c clientinfo.Composer
	got, info, err := c.Compose("Log in", "en", "203.0.113.7", userAgents[1].ua)
	if got != "Log in" || err == nil {
		t.Errorf("Compose = %q, %v; want the base message and an error", got, err)
	}
	if info.Browser != "Safari" || info.OperatingSystem != "iOS" {
		t.Errorf("info = %+v; the user agent is still parsed", info)
	}
}

func TestOpenGeoDBErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.mmdb")
	if err := os.WriteFile(bad, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	openers := map[string]func(string) (*clientinfo.GeoDB, error){"OpenGeoDB": clientinfo.OpenGeoDB, "LoadGeoDB": clientinfo.LoadGeoDB}
	for name, open := range openers {
		for _, p := range []string{filepath.Join(t.TempDir(), "missing.mmdb"), bad} {
			if _, err := open(p); err == nil || !strings.Contains(err.Error(), p) {
				t.Errorf("%s(%s) = %v; want an error naming the file", name, p, err)
			}
		}
	}
}

// TestLoadGeoDB: the in-memory database answers like the mapped one and
// needs no Close.
func TestLoadGeoDB(t *testing.T) {
	path := geotest.Write(t, geotest.Place{Network: "203.0.113.0/24", CountryCode: "CH", Region: "Zurich", City: "Winterthur"})
	db, err := clientinfo.LoadGeoDB(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ip, country, region, city string
		err                       bool
	}{
		{"203.0.113.9", "CH", "Zurich", "Winterthur", false},
		{"198.51.100.1", "", "", "", true},
		{"nope", "", "", "", true},
	}
	for _, tc := range tests {
		c, r, city, err := db.Lookup(tc.ip)
		if c != tc.country || r != tc.region || city != tc.city || (err != nil) != tc.err {
			t.Errorf("Lookup(%s) = %q %q %q %v", tc.ip, c, r, city, err)
		}
	}
}

func TestDefaultMessage(t *testing.T) {
	tests := []struct{ kind, lang, want string }{
		{clientinfo.KindPush, "en", "Please confirm your login."},
		{clientinfo.KindPush, "de", "Bitte bestätigen Sie Ihre Anmeldung."},
		{clientinfo.KindPush, "FR-ch", "Veuillez confirmer votre connexion."},
		{clientinfo.KindOTP, "it", "Inserisci il codice della tua app di autenticazione."},
		{clientinfo.KindSMS, "de", "Ihr Anmeldecode lautet {{code}}."},
		{clientinfo.KindSMS, "xx", "Your login code is {{code}}."},
		{"unknown", "", "Please confirm your login."},
	}
	for _, tc := range tests {
		if got := clientinfo.DefaultMessage(tc.kind, tc.lang); got != tc.want {
			t.Errorf("DefaultMessage(%q, %q) = %q; want %q", tc.kind, tc.lang, got, tc.want)
		}
	}
}
