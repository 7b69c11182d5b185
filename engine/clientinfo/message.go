package clientinfo

import (
	"errors"
	"strings"
)

// Authentication types with default messages.
const (
	KindPush = "push" // a push approval on the phone
	KindOTP  = "otp"  // a code from an authenticator app
	KindSMS  = "sms"  // a code sent by SMS
)

// defaultMessages are the base messages per authentication type and
// language when the portal sends none. English is the fallback.
var defaultMessages = map[string]map[string]string{
	KindPush: {
		"en": "Please confirm your login.",
		"de": "Bitte bestätigen Sie Ihre Anmeldung.",
		"fr": "Veuillez confirmer votre connexion.",
		"it": "Conferma il tuo accesso.",
	},
	KindOTP: {
		"en": "Enter the code from your authenticator app.",
		"de": "Geben Sie den Code aus Ihrer Authenticator-App ein.",
		"fr": "Saisissez le code de votre application d'authentification.",
		"it": "Inserisci il codice della tua app di autenticazione.",
	},
	KindSMS: {
		"en": "Your login code is {{code}}.",
		"de": "Ihr Anmeldecode lautet {{code}}.",
		"fr": "Votre code de connexion est {{code}}.",
		"it": "Il tuo codice di accesso è {{code}}.",
	},
}

// DefaultMessage returns the built-in base message for an authentication
// type in a language ("de", "de-CH" and "DE" all read German), falling back
// to English for a language it does not know, and to the push message for an
// unknown type.
func DefaultMessage(kind, lang string) string {
	m := defaultMessages[kind]
	if m == nil {
		m = defaultMessages[KindPush]
	}
	return Pick(m, lang)
}

// Pick chooses the entry of a per-language map for lang: the exact tag,
// then its primary language, then "en", then "" (an empty map).
func Pick(m map[string]string, lang string) string {
	lang = strings.ToLower(strings.TrimSpace(lang))
	if v, ok := m[lang]; ok {
		return v
	}
	if i := strings.IndexAny(lang, "-_"); i > 0 {
		if v, ok := m[lang[:i]]; ok {
			return v
		}
	}
	return m["en"]
}

// Render fills a template's placeholders: [message] with message, and
// [browser], [operatingSystem], [countryCode], [region] and [city] from info.
// An unknown value reads "unknown". An empty template is DefaultTemplate.
func Render(template, message string, info Info) string {
	if template == "" {
		template = DefaultTemplate
	}
	or := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	r := strings.NewReplacer(
		"[message]", message,
		"[browser]", or(info.Browser),
		"[operatingSystem]", or(info.OperatingSystem),
		"[countryCode]", or(info.CountryCode),
		"[region]", or(info.Region),
		"[city]", or(info.City),
	)
	return strings.TrimSpace(r.Replace(template))
}

// Placeholders are the names Render fills, for configuration checks.
var Placeholders = []string{"message", "browser", "operatingSystem", "countryCode", "region", "city"}

// Composer builds secure messages: templates per language, and an optional
// geoip database. Its zero value renders DefaultTemplate without locations.
type Composer struct {
	// Templates by language ("en", "de", ...); missing languages fall
	// back to "en", then DefaultTemplate.
	Templates map[string]string
	// Geo locates addresses; nil means no location is ever shown.
	Geo *GeoDB
}

// Compose returns the text for the phone. When geolocation fails (no
// database, an unknown or private address, a corrupt file) it returns the
// base message alone and the error, which the caller logs; the user agent is
// then not shown either, so a half-filled "Location: unknown" never
// suggests a location was checked.
func (c *Composer) Compose(message, lang, ip, userAgent string) (string, Info, error) {
	var info Info
	info.Browser, info.OperatingSystem = ParseUserAgent(userAgent)
	if c == nil || c.Geo == nil {
		return message, info, errNoGeo
	}
	cc, region, city, err := c.Geo.Lookup(ip)
	if err != nil {
		return message, info, err
	}
	info.CountryCode, info.Region, info.City = cc, region, city
	return Render(Pick(c.Templates, lang), message, info), info, nil
}

var errNoGeo = errors.New("no geoip database is configured")
