package dsl

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// SMS gateway types.
var smsGatewayTypes = []string{"twilio", "webhook", "log"}

var twilioSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "account_sid", Required: true},
		{Name: "auth_token", Required: true},
		{Name: "from", Required: true},
		{Name: "base_url"},
	},
}

// decodeSMSGatewayBlock decodes sms_gateway "TYPE" "NAME".
func decodeSMSGatewayBlock(l *loader, block *hcl.Block) (*SMSGateway, hcl.Diagnostics) {
	g := &SMSGateway{Type: block.Labels[0], Name: block.Labels[1], DeclRange: block.DefRange}
	owner := fmt.Sprintf("sms_gateway %q", g.Name)
	var diags hcl.Diagnostics
	switch g.Type {
	case "twilio":
		c, d := decodeContent(block.Body, twilioSchema, blockTitle(block))
		diags = d
		if c == nil {
			return g, diags
		}
		s := &TwilioSettings{}
		if a := c.Attributes["account_sid"]; a != nil {
			v, ok, d := l.str(a)
			diags = append(diags, d...)
			if ok {
				s.AccountSID = v
			}
		}
		if a := c.Attributes["auth_token"]; a != nil {
			v, ok, d := l.secret(a, owner)
			diags = append(diags, d...)
			if ok {
				s.AuthToken = v
			}
		}
		if a := c.Attributes["from"]; a != nil {
			v, ok, d := l.str(a)
			diags = append(diags, d...)
			if ok {
				s.From = v
			}
		}
		if a := c.Attributes["base_url"]; a != nil {
			v, ok, d := l.strURL(a, owner, "authd authenticates to Twilio with account_sid and auth_token: take them out of the URL.")
			diags = append(diags, d...)
			if ok {
				if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid base_url",
						Detail: "base_url must be an absolute http(s) URL, like \"https://api.twilio.com\"; it exists so tests and regional endpoints can replace Twilio's default.", Subject: a.Expr.Range().Ptr()})
				} else {
					s.BaseURL = strings.TrimRight(v, "/")
				}
			}
		}
		g.Twilio = s
	case "webhook":
		s, d := decodeWebhook(l, block, owner)
		diags = d
		g.Webhook = s
	case "log":
		_, diags = decodeContent(block.Body, &hcl.BodySchema{}, blockTitle(block))
		g.Log = &LogSettings{}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Development SMS gateway",
			Detail:   fmt.Sprintf("sms_gateway %q writes one-time codes to the server log instead of sending them. Use it for development only; authd validate -strict refuses it.", g.Name),
			Subject:  block.DefRange.Ptr(),
		})
	default:
		return nil, hcl.Diagnostics{unknownType("sms_gateway", g.Type, block.LabelRanges[0], smsGatewayTypes)}
	}
	return g, diags
}
