package dsl

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Push provider types.
var pushProviderTypes = []string{"apns", "fcm", "poll", "webhook"}

var apnsSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "team_id", Required: true},
		{Name: "key_id", Required: true},
		{Name: "key_file", Required: true},
		{Name: "bundle_id", Required: true},
		{Name: "environment"},
	},
}

var fcmSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "credentials_file", Required: true}},
}

var webhookSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "url", Required: true}, {Name: "headers"}},
}

// decodePushProviderBlock decodes push_provider "TYPE" "NAME"; the type
// label picks the settings schema.
func decodePushProviderBlock(l *loader, block *hcl.Block) (*PushProvider, hcl.Diagnostics) {
	p := &PushProvider{Type: block.Labels[0], Name: block.Labels[1], DeclRange: block.DefRange}
	owner := fmt.Sprintf("push_provider %q", p.Name)
	var diags hcl.Diagnostics
	switch p.Type {
	case "apns":
		c, d := decodeContent(block.Body, apnsSchema, blockTitle(block))
		diags = d
		if c == nil {
			return p, diags
		}
		s := &APNSSettings{Environment: "production"}
		for _, f := range []struct {
			name string
			dst  *string
		}{{"team_id", &s.TeamID}, {"key_id", &s.KeyID}, {"bundle_id", &s.BundleID}} {
			if a := c.Attributes[f.name]; a != nil {
				v, ok, d := l.str(a)
				diags = append(diags, d...)
				if ok {
					*f.dst = v
				}
			}
		}
		if a := c.Attributes["key_file"]; a != nil {
			v, ok, d := l.str(a)
			diags = append(diags, d...)
			if ok {
				s.KeyFile = l.configPath(v)
				diags = append(diags, l.requireFile(a, s.KeyFile)...)
			}
		}
		if a := c.Attributes["environment"]; a != nil {
			v, ok, d := l.enum(a, "production", "sandbox")
			diags = append(diags, d...)
			if ok {
				s.Environment = v
			}
		}
		p.APNS = s
	case "fcm":
		c, d := decodeContent(block.Body, fcmSchema, blockTitle(block))
		diags = d
		if c == nil {
			return p, diags
		}
		s := &FCMSettings{}
		if a := c.Attributes["credentials_file"]; a != nil {
			v, ok, d := l.str(a)
			diags = append(diags, d...)
			if ok {
				s.CredentialsFile = l.configPath(v)
				diags = append(diags, l.requireFile(a, s.CredentialsFile)...)
			}
		}
		p.FCM = s
	case "poll":
		_, diags = decodeContent(block.Body, &hcl.BodySchema{}, blockTitle(block))
		p.Poll = &PollSettings{}
	case "webhook":
		s, d := decodeWebhook(l, block, owner)
		diags = d
		p.Webhook = s
	default:
		return nil, hcl.Diagnostics{unknownType("push_provider", p.Type, block.LabelRanges[0], pushProviderTypes)}
	}
	return p, diags
}

func unknownType(kind, typ string, rng hcl.Range, types []string) *hcl.Diagnostic {
	detail := fmt.Sprintf("There is no %s type named %q; the types are %s.", kind, typ, quoteList(types))
	if s := nameSuggestion(typ, types); s != "" {
		detail = fmt.Sprintf("There is no %s type named %q. Did you mean %q?", kind, typ, s)
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Unknown " + kind + " type",
		Detail:   detail,
		Subject:  rng.Ptr(),
	}
}

// decodeWebhook reads url and headers, shared by push and SMS webhooks.
// Header values are Secrets; a literal one is warned about only when its
// name says it carries a credential (Authorization, *token*, *key*,
// *secret*), since Content-Type and the like are not secrets.
func decodeWebhook(l *loader, block *hcl.Block, owner string) (*WebhookSettings, hcl.Diagnostics) {
	c, diags := decodeContent(block.Body, webhookSchema, blockTitle(block))
	s := &WebhookSettings{}
	if c == nil {
		return s, diags
	}
	if a := c.Attributes["url"]; a != nil {
		v, ok, d := l.strURL(a, owner, "Take them out of the URL and send them in a header read with env() or file(), like headers = { Authorization = env(\"WEBHOOK_AUTH\") }.")
		diags = append(diags, d...)
		if ok {
			u, err := url.Parse(v)
			if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid URL",
					Detail:   fmt.Sprintf("The url of %s must be an absolute http or https URL.", owner),
					Subject:  a.Expr.Range().Ptr(),
				})
			} else {
				if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagWarning,
						Summary:  "Webhook without TLS",
						Detail:   fmt.Sprintf("The url of %s uses http:// for a host other than loopback, so codes and headers would cross the network unencrypted.", owner),
						Subject:  a.Expr.Range().Ptr(),
					})
				}
				s.URL = v
			}
		}
	}
	if a := c.Attributes["headers"]; a != nil {
		raw, d := l.evalConfig(a.Expr)
		diags = append(diags, d...)
		if !d.HasErrors() {
			hd, ok := l.headers(a, raw, owner)
			diags = append(diags, hd...)
			if ok != nil {
				s.Headers = ok
			}
		}
	}
	return s, diags
}

func (l *loader) headers(a *hcl.Attribute, raw cty.Value, owner string) (hcl.Diagnostics, map[string]Secret) {
	var diags hcl.Diagnostics
	ty := raw.Type()
	if !(ty.IsObjectType() || ty.IsMapType()) || raw.IsNull() {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Incorrect attribute value type",
			Detail:   "Inappropriate value for attribute \"headers\": a map of header names to strings is required.",
			Subject:  a.Expr.Range().Ptr(),
		}}, nil
	}
	if !raw.IsKnown() {
		return nil, nil
	}
	out := map[string]Secret{}
	for it := raw.ElementIterator(); it.Next(); {
		k, v := it.Element()
		name := k.AsString()
		v, marks := v.UnmarkDeep()
		source := "literal"
		for m := range marks {
			if ss, is := m.(secretSource); is {
				source = ss.fn
			}
		}
		if !v.IsKnown() {
			out[name] = newSecret("", source)
			continue
		}
		sv, err := convertString(v)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Incorrect attribute value type",
				Detail:   fmt.Sprintf("The header %q must be a string.", name),
				Subject:  a.Expr.Range().Ptr(),
			})
			continue
		}
		if source == "literal" && sensitiveHeader(name) {
			rng := a.Expr.Range()
			if pr, ok := mapValueRange(a.Expr, name); ok {
				rng = pr
			}
			l.redact(rng)
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Literal secret",
				Detail:   fmt.Sprintf("The header %q of %s is written as a literal, and configuration files live in Git, so the credential would too. Read it with env(\"NAME\") or file(\"path\") instead.", name, owner),
				Subject:  rng.Ptr(),
			})
		}
		out[name] = newSecret(sv, source)
	}
	return diags, out
}

func convertString(v cty.Value) (string, error) {
	if v.IsNull() {
		return "", fmt.Errorf("null")
	}
	switch v.Type() {
	case cty.String:
		return v.AsString(), nil
	case cty.Number:
		return v.AsBigFloat().Text('f', -1), nil
	case cty.Bool:
		if v.True() {
			return "true", nil
		}
		return "false", nil
	}
	return "", fmt.Errorf("not a string")
}

func sensitiveHeader(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"authorization", "token", "key", "secret", "password", "cookie"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// mapValueRange finds the value expression of key in an object
// constructor, so a warning can point at one header.
func mapValueRange(expr hcl.Expression, key string) (hcl.Range, bool) {
	pairs, d := hcl.ExprMap(expr)
	if d.HasErrors() {
		return hcl.Range{}, false
	}
	for _, p := range pairs {
		k := hcl.ExprAsKeyword(p.Key)
		if k == "" {
			k, _ = staticString(p.Key)
		}
		if k == key {
			return p.Value.Range(), true
		}
	}
	return hcl.Range{}, false
}
