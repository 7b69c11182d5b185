package dsl

import (
	"fmt"
	"net/url"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Identity provider types: OpenID Connect discovery from the issuer.
var identityProviderTypes = []string{"oidc"}

var oidcSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "issuer", Required: true},
		{Name: "client_id", Required: true},
		{Name: "client_secret"},
		{Name: "scopes"},
		{Name: "pkce"},
		{Name: "assume_email_verified"},
	},
}

// decodeIdentityProviderBlock decodes identity_provider "oidc" "NAME".
// scopes default to ["openid"], pkce to true ("required"/"optional" are
// accepted as its spellings, like a relying party's), and
// assume_email_verified to false (see IdentityProvider).
func decodeIdentityProviderBlock(l *loader, block *hcl.Block) (*IdentityProvider, hcl.Diagnostics) {
	p := &IdentityProvider{Type: block.Labels[0], Name: block.Labels[1], Scopes: []string{"openid"}, PKCE: true, DeclRange: block.DefRange}
	owner := fmt.Sprintf("identity_provider %q", p.Name)
	if p.Type != "oidc" {
		return nil, hcl.Diagnostics{unknownType("identity_provider", p.Type, block.LabelRanges[0], identityProviderTypes)}
	}
	content, diags := decodeContent(block.Body, oidcSchema, blockTitle(block))
	if content == nil {
		return p, diags
	}
	if a := content.Attributes["issuer"]; a != nil {
		v, ok, d := l.strURL(a, owner, "authd authenticates to the provider with client_id and client_secret: take them out of the URL.")
		diags = append(diags, d...)
		if ok {
			u, err := url.Parse(v)
			switch {
			case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid issuer", Detail: fmt.Sprintf("The issuer of %s must be an https URL, like \"https://accounts.google.com\".", owner), Subject: a.Expr.Range().Ptr()})
			case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Insecure issuer", Detail: fmt.Sprintf("The issuer of %s uses http:// on a host other than loopback; OpenID Connect requires https.", owner), Subject: a.Expr.Range().Ptr()})
			default:
				p.Issuer = v
			}
		}
	}
	if a := content.Attributes["client_id"]; a != nil {
		v, ok, d := l.str(a)
		diags = append(diags, d...)
		if ok {
			p.ClientID = v
		}
	}
	if a := content.Attributes["client_secret"]; a != nil {
		v, ok, d := l.secret(a, owner)
		diags = append(diags, d...)
		if ok {
			p.ClientSecret = v
		}
	}
	if a := content.Attributes["scopes"]; a != nil {
		v, ok, d := l.strList(a)
		diags = append(diags, d...)
		if ok {
			p.Scopes = v
			if !hasString(v, "openid") {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing openid scope", Detail: fmt.Sprintf("The scopes of %s must include \"openid\": without it the provider returns no ID token to log the user in with.", owner), Subject: a.Expr.Range().Ptr()})
			}
		}
	}
	if a := content.Attributes["pkce"]; a != nil {
		raw, _, ok, d := l.value(a, cty.DynamicPseudoType)
		diags = append(diags, d...)
		if ok {
			switch {
			case raw.Type() == cty.Bool:
				p.PKCE = raw.True()
			case raw.Type() == cty.String && raw.AsString() == "required":
				p.PKCE = true
			case raw.Type() == cty.String && raw.AsString() == "optional":
				p.PKCE = false
			default:
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Incorrect attribute value type", Detail: "Inappropriate value for attribute \"pkce\": true or false is required.", Subject: a.Expr.Range().Ptr()})
			}
		}
	}
	if a := content.Attributes["assume_email_verified"]; a != nil {
		v, ok, d := l.boolean(a)
		diags = append(diags, d...)
		if ok {
			p.AssumeEmailVerified = v
		}
	}
	if !p.PKCE && !p.ClientSecret.IsSet() {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Identity provider without PKCE or secret",
			Detail:   fmt.Sprintf("%s has neither a client_secret nor PKCE, so nothing would bind the authorization code to authd. Set pkce = true.", owner),
			Subject:  block.DefRange.Ptr(),
		})
	}
	return p, diags
}
