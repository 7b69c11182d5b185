package dsl

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// kindAPIClient is the api_client block: an application (a portal, a
// gateway) that starts journeys for its users over the journey API.
const kindAPIClient = "api_client"

// APIClient is an application allowed to start journeys for named users
// on the journey API (a portal starting a push for its logged-in user), and
// to learn the result by a callback.
type APIClient struct {
	Name   string // the block name; the basic-auth user name
	Secret Secret // the basic-auth password
	// AllowedIPs are the networks requests may come from; empty refuses
	// every address (validate says so).
	AllowedIPs []*net.IPNet
	// Journeys are the journeys it may start, by name.
	Journeys []string
	// CallbackURLs are the exact URLs a start may ask the result be
	// POSTed to: https, or http on loopback.
	CallbackURLs []string
	// CallbackAuth is sent as basic auth with each callback; nil: none.
	CallbackAuth *CallbackAuth
	// GeoIPDatabase is a MaxMind-format City database (resolved against
	// the declaring file's directory); "" shows no location.
	GeoIPDatabase string
	// MessageTemplates are the secure-message templates by language code;
	// a language without one uses "en", then the built-in default.
	MessageTemplates map[string]string
	DeclRange        hcl.Range // the block header, where diagnostics about the block point
}

// CallbackAuth is an api_client's callback_auth block.
type CallbackAuth struct {
	Username  string
	Password  Secret
	DeclRange hcl.Range // the block header, where diagnostics about the block point
}

var apiClientSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "secret", Required: true},
		{Name: "allowed_ips", Required: true},
		{Name: "journeys", Required: true},
		{Name: "callback_urls"},
		{Name: "geoip_database"},
		{Name: "message_templates"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "callback_auth"}},
}

var callbackAuthSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "username", Required: true}, {Name: "password", Required: true}},
}

// placeholderRE finds [name] placeholders in a message template.
var placeholderRE = regexp.MustCompile(`\[([A-Za-z]+)\]`)

// templatePlaceholders are the placeholders a message template may use
// (engine/clientinfo fills them).
var templatePlaceholders = []string{"message", "browser", "operatingSystem", "countryCode", "region", "city"}

// decodeAPIClientBlock decodes an api_client. Its journeys are resolved in
// linkAPIClients, once every block is declared.
func decodeAPIClientBlock(l *loader, block *hcl.Block) (*APIClient, hcl.Diagnostics) {
	c := &APIClient{Name: block.Labels[0], DeclRange: block.DefRange}
	owner := fmt.Sprintf("api_client %q", c.Name)
	content, diags := decodeContent(block.Body, apiClientSchema, owner)
	if content == nil {
		return c, diags
	}
	attrs := content.Attributes
	if a := attrs["secret"]; a != nil {
		v, ok, d := l.secret(a, owner)
		diags = append(diags, d...)
		if ok {
			c.Secret = v
		}
	}
	if a := attrs["allowed_ips"]; a != nil {
		v, ok, d := l.strList(a)
		diags = append(diags, d...)
		if ok {
			for _, s := range v {
				n, err := parseAddress(s)
				if err != nil {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Invalid allowed address",
						Detail:   fmt.Sprintf("allowed_ips of %s must hold IP addresses or CIDR networks, like \"192.0.2.10\" or \"192.0.2.0/24\": %s.", owner, strings.Split(err.Error(), " (")[0]),
						Subject:  a.Expr.Range().Ptr(),
					})
					continue
				}
				c.AllowedIPs = append(c.AllowedIPs, n)
			}
			if len(v) == 0 {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagWarning,
					Summary:  "No allowed addresses",
					Detail:   fmt.Sprintf("allowed_ips of %s is empty, so every request of it is refused. List the networks the application calls from.", owner),
					Subject:  a.Expr.Range().Ptr(),
				})
			}
			for _, n := range c.AllowedIPs {
				if ones, _ := n.Mask.Size(); ones == 0 {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagWarning,
						Summary:  "Every address allowed",
						Detail:   fmt.Sprintf("allowed_ips of %s holds %s, which lets any address on the Internet try its secret. List the application's own networks.", owner, n),
						Subject:  a.Expr.Range().Ptr(),
					})
				}
			}
		}
	}
	if a := attrs["journeys"]; a != nil {
		refs, d := parseRefList(a.Expr, kindJourney, "journeys")
		diags = append(diags, d...)
		for _, r := range refs {
			c.Journeys = append(c.Journeys, r.name)
		}
		if l.isFirst(block) {
			l.apiClientRefs = append(l.apiClientRefs, refs...)
		}
	}
	if a := attrs["callback_urls"]; a != nil {
		v, ok, d := l.strList(a)
		diags = append(diags, d...)
		if ok {
			diags = append(diags, checkCallbackURLs(a, v, owner)...)
			c.CallbackURLs = v
		}
	}
	if a := attrs["geoip_database"]; a != nil {
		v, ok, d := l.str(a)
		diags = append(diags, d...)
		if ok {
			c.GeoIPDatabase = l.configPath(v)
			diags = append(diags, l.requireFile(a, c.GeoIPDatabase)...)
		}
	}
	if a := attrs["message_templates"]; a != nil {
		v, _, ok, d := l.value(a, cty.Map(cty.String))
		diags = append(diags, d...)
		if ok {
			c.MessageTemplates = map[string]string{}
			for k, tv := range v.AsValueMap() {
				c.MessageTemplates[strings.ToLower(k)] = tv.AsString()
				diags = append(diags, checkTemplate(a, k, tv.AsString(), owner)...)
			}
		}
	}
	if b, d := oneBlock(content.Blocks, "callback_auth", owner); b != nil || d != nil {
		diags = append(diags, d...)
		if b != nil {
			ca := &CallbackAuth{DeclRange: b.DefRange}
			cc, d := decodeContent(b.Body, callbackAuthSchema, "the callback_auth block of "+owner)
			diags = append(diags, d...)
			if cc != nil {
				if a := cc.Attributes["username"]; a != nil {
					if v, ok, d := l.str(a); ok {
						ca.Username = v
						if strings.Contains(v, ":") {
							diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid callback user name", Detail: "A basic-auth user name cannot hold a colon.", Subject: a.Expr.Range().Ptr()})
						}
					} else {
						diags = append(diags, d...)
					}
				}
				if a := cc.Attributes["password"]; a != nil {
					v, ok, d := l.secret(a, owner+" callback_auth")
					diags = append(diags, d...)
					if ok {
						ca.Password = v
					}
				}
			}
			c.CallbackAuth = ca
			if len(c.CallbackURLs) == 0 {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Callback auth without callback URLs", Detail: fmt.Sprintf("%s has callback_auth but no callback_urls, so no callback is ever sent.", owner), Subject: b.DefRange.Ptr()})
			}
		}
	}
	return c, diags
}

// checkCallbackURLs: absolute https URLs (http only on loopback), no
// fragment, no user info (credentials go in callback_auth).
func checkCallbackURLs(a *hcl.Attribute, urls []string, owner string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	bad := func(summary, detail string) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: a.Expr.Range().Ptr()})
	}
	seen := map[string]bool{}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		// Messages quote s, the URL with its credentials masked: one
		// that does not parse can still hold a password.
		s := MaskURLCredentials(raw)
		switch {
		case err != nil || !u.IsAbs() || u.Host == "":
			bad("Invalid callback URL", fmt.Sprintf("The callback URL %q of %s must be an absolute URL, like \"https://portal.example.com/authd/result\".", s, owner))
		case u.User != nil:
			bad("Credentials in callback URL", fmt.Sprintf("The callback URL %q of %s holds a user name or password; put them in a callback_auth block, whose password can come from env().", s, owner))
		case u.Fragment != "" || strings.Contains(raw, "#"):
			bad("Invalid callback URL", fmt.Sprintf("The callback URL %q of %s has a fragment (#...), which is never sent to a server.", s, owner))
		case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
			bad("Insecure callback URL", fmt.Sprintf("The callback URL %q of %s uses http:// on a host other than loopback, so results (and callback credentials) would cross the network in clear text. Use https://.", s, owner))
		case u.Scheme != "http" && u.Scheme != "https":
			bad("Invalid callback URL", fmt.Sprintf("The callback URL %q of %s uses the scheme %q; use https://.", s, owner, u.Scheme))
		case seen[raw]:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Duplicate list entry", Detail: fmt.Sprintf("callback_urls lists %q twice.", s), Subject: a.Expr.Range().Ptr()})
		}
		seen[raw] = true
	}
	return diags
}

// checkTemplate reports unknown placeholders (a typo would show literally
// on the phone) and a template without [message].
func checkTemplate(a *hcl.Attribute, lang, tmpl, owner string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, m := range placeholderRE.FindAllStringSubmatch(tmpl, -1) {
		if !hasString(templatePlaceholders, m[1]) {
			detail := fmt.Sprintf("The %q message template of %s uses [%s], which is not a placeholder; the known ones are %s.", lang, owner, m[1], listWords(templatePlaceholders))
			if s := nameSuggestion(m[1], templatePlaceholders); s != "" {
				detail += fmt.Sprintf(" Did you mean [%s]?", s)
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown placeholder", Detail: detail, Subject: a.Expr.Range().Ptr()})
		}
	}
	if !strings.Contains(tmpl, "[message]") {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Template without message", Detail: fmt.Sprintf("The %q message template of %s has no [message], so the application's message is never shown.", lang, owner), Subject: a.Expr.Range().Ptr()})
	}
	return diags
}

// linkAPIClients resolves the journeys api_clients may start.
func (l *loader) linkAPIClients() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, r := range l.apiClientRefs {
		diags = append(diags, l.resolve(r)...)
	}
	return diags
}
