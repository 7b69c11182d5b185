package dsl

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

var protectedResourceSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "realm", Required: true},
		{Name: "token_validation"},
		{Name: "required_scopes"},
		{Name: "audience"},
		{Name: "jwks_url"},
		{Name: "issuer"},
		{Name: "introspection_url"},
		{Name: "client_id"},
		{Name: "client_secret"},
		{Name: "validate_frequency"},
		{Name: "validate_interval"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "header", LabelNames: []string{"name"}}},
}

var claimHeaderSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "claim", Required: true}},
}

// ClaimHeader passes a claim of the token to the upstream as a header on a
// 200 answer: header "X-Email" { claim = "email" }.
type ClaimHeader struct {
	Name      string // the header
	Claim     string // the top-level claim of the JWT or introspection answer
	DeclRange hcl.Range
}

// Settings of each token_validation mode; the other mode's are refused.
var (
	internalOnly = []string{"jwks_url", "issuer"}
	externalOnly = []string{"introspection_url", "client_id", "client_secret", "validate_frequency", "validate_interval"}
	// reservedHeaders are set by authd itself or mean something to the
	// gateway; a claim may not replace them.
	reservedHeaders = []string{"X-Authd-User", "X-Authd-Scopes", "Authorization", "Cookie", "Set-Cookie", "Www-Authenticate", "Content-Length", "Content-Type", "Host", "Connection", "Transfer-Encoding"}
)

// maxValidateInterval bounds how long a positive introspection answer is
// trusted: past a day a revoked token would be let in far too long.
const maxValidateInterval = 24 * time.Hour

// decodeProtectedResourceBlock decodes a protected_resource.
// token_validation defaults to "internal"; external validation defaults to
// validate_frequency "interval" with validate_interval "30s".
func decodeProtectedResourceBlock(l *loader, block *hcl.Block) (*ProtectedResource, hcl.Diagnostics) {
	pr := &ProtectedResource{Name: block.Labels[0], TokenValidation: "internal", DeclRange: block.DefRange}
	owner := fmt.Sprintf("protected_resource %q", pr.Name)
	content, diags := decodeContent(block.Body, protectedResourceSchema, owner)
	if content == nil {
		return pr, diags
	}
	attrs := content.Attributes
	if a := attrs["realm"]; a != nil {
		r, d := parseRef(a.Expr, kindRealm, "realm", false)
		diags = append(diags, d...)
		pr.Realm = r.name
		if l.isFirst(block) {
			l.prRefs[pr.Name] = r
		}
	}
	if a := attrs["token_validation"]; a != nil {
		v, ok, d := l.enum(a, "internal", "external")
		diags = append(diags, d...)
		if ok {
			pr.TokenValidation = v
		}
	}
	if a := attrs["required_scopes"]; a != nil {
		v, ok, d := l.strList(a)
		diags = append(diags, d...)
		if ok {
			pr.RequiredScopes = v
			diags = append(diags, checkTokenWords(a, v, "scope", owner)...)
			if len(v) == 0 {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagWarning,
					Summary:  "No required scopes",
					Detail:   fmt.Sprintf("protected_resource %q requires no scope, so any valid token of the realm is let in. List the scopes it needs.", pr.Name),
					Subject:  a.Expr.Range().Ptr(),
				})
			}
		}
	}
	if a := attrs["audience"]; a != nil {
		v, ok, d := l.strList(a)
		diags = append(diags, d...)
		if ok {
			diags = append(diags, checkTokenWords(a, v, "audience", owner)...)
			if len(v) == 0 {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Empty audience", Detail: fmt.Sprintf("The audience of %s lists nothing; list the aud values its tokens must name, or leave it out to accept any.", owner), Subject: a.Expr.Range().Ptr()})
			}
			pr.Audience = v
		}
	}

	// Settings of the other mode.
	other, otherMode := externalOnly, "external"
	if pr.TokenValidation == "external" {
		other, otherMode = internalOnly, "internal"
	}
	for _, name := range other {
		if a := attrs[name]; a != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Setting of the other validation mode",
				Detail:   fmt.Sprintf("%s is only for token_validation = %q, but %s uses %q; remove it or change token_validation.", name, otherMode, owner, pr.TokenValidation),
				Subject:  a.NameRange.Ptr(),
			})
		}
	}

	if pr.TokenValidation == "internal" {
		diags = append(diags, decodeInternal(l, pr, attrs, block, owner)...)
	} else {
		diags = append(diags, decodeExternal(l, pr, attrs, block, owner)...)
	}

	seen := map[string]hcl.Range{}
	for _, b := range content.Blocks {
		h := &ClaimHeader{Name: b.Labels[0], DeclRange: b.DefRange}
		canon := http.CanonicalHeaderKey(h.Name)
		switch {
		case !validHeaderName(h.Name):
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid header name", Detail: fmt.Sprintf("%q is not an HTTP header name (letters, digits and -, like \"X-Email\").", h.Name), Subject: b.LabelRanges[0].Ptr()})
		case hasFold(reservedHeaders, canon):
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reserved header", Detail: fmt.Sprintf("%s cannot set the header %q from a claim: authd or the gateway sets it. Choose another name, like \"X-Authd-Email\".", owner, h.Name), Subject: b.LabelRanges[0].Ptr()})
		default:
			if prev, dup := seen[canon]; dup {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate header", Detail: fmt.Sprintf("The header %q of %s is already set at %s (header names ignore case).", h.Name, owner, prev), Subject: b.LabelRanges[0].Ptr()})
			}
			seen[canon] = b.DefRange
		}
		cc, d := decodeContent(b.Body, claimHeaderSchema, blockTitle(b)+" of "+owner)
		diags = append(diags, d...)
		if cc != nil {
			if a := cc.Attributes["claim"]; a != nil {
				v, ok, d := l.str(a)
				diags = append(diags, d...)
				if ok && strings.TrimSpace(v) == "" {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Empty claim", Detail: fmt.Sprintf("The header %q of %s names no claim.", h.Name, owner), Subject: a.Expr.Range().Ptr()})
				} else if ok {
					h.Claim = v
				}
			}
		}
		pr.Headers = append(pr.Headers, h)
	}
	return pr, diags
}

// decodeInternal: jwks_url and issuer come together (a key set of another
// issuer, and the iss its tokens must carry).
func decodeInternal(l *loader, pr *ProtectedResource, attrs hcl.Attributes, block *hcl.Block, owner string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	ja, ia := attrs["jwks_url"], attrs["issuer"]
	if ja != nil {
		v, ok, d := l.strURL(ja, owner, credentialsElsewhere)
		diags = append(diags, d...)
		if ok {
			diags = append(diags, checkFetchURL(ja, v, owner, "the issuer's public keys")...)
			pr.JWKSURL = v
		}
	}
	if ia != nil {
		v, ok, d := l.str(ia)
		diags = append(diags, d...)
		if ok {
			if v == "" {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Empty issuer", Detail: fmt.Sprintf("The issuer of %s is empty; give the iss its tokens carry.", owner), Subject: ia.Expr.Range().Ptr()})
			}
			pr.Issuer = v
		}
	}
	switch {
	case ja != nil && ia == nil:
		diags = append(diags, missingAttr("issuer", owner, block.DefRange, "tokens checked against another issuer's jwks_url must carry that issuer's iss, and authd needs to know it."))
	case ia != nil && ja == nil:
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Issuer without jwks_url", Detail: fmt.Sprintf("%s gives an issuer but no jwks_url; without jwks_url it checks authd's own tokens, whose issuer is server.http.public_url. Add the issuer's jwks_url or remove issuer.", owner), Subject: ia.NameRange.Ptr()})
	}
	return diags
}

// decodeExternal: introspection_url with client_id and client_secret, or
// none of them (authd's own store); validate_interval only with
// validate_frequency "interval".
func decodeExternal(l *loader, pr *ProtectedResource, attrs hcl.Attributes, block *hcl.Block, owner string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	ua, ca, sa := attrs["introspection_url"], attrs["client_id"], attrs["client_secret"]
	if ua != nil {
		v, ok, d := l.strURL(ua, owner, "authd authenticates to the introspection endpoint with client_id and client_secret: take them out of the URL.")
		diags = append(diags, d...)
		if ok {
			diags = append(diags, checkFetchURL(ua, v, owner, "each token and the client secret")...)
			pr.IntrospectionURL = v
		}
		for _, need := range []struct {
			a    *hcl.Attribute
			name string
		}{{ca, "client_id"}, {sa, "client_secret"}} {
			if need.a == nil {
				diags = append(diags, missingAttr(need.name, owner, block.DefRange, "an introspection endpoint answers only clients that authenticate (RFC 7662)."))
			}
		}
	} else {
		for _, a := range []*hcl.Attribute{ca, sa} {
			if a != nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Client credentials without introspection_url", Detail: fmt.Sprintf("%s has no introspection_url, so it asks authd's own token store, in process, with no client authentication; remove %s, or add the introspection_url of the server it authenticates to.", owner, a.Name), Subject: a.NameRange.Ptr()})
			}
		}
	}
	if ca != nil {
		v, ok, d := l.str(ca)
		diags = append(diags, d...)
		if ok {
			if v == "" {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Empty client_id", Detail: fmt.Sprintf("The client_id of %s is empty.", owner), Subject: ca.Expr.Range().Ptr()})
			}
			pr.ClientID = v
		}
	}
	if sa != nil {
		v, ok, d := l.secret(sa, owner)
		diags = append(diags, d...)
		if ok {
			pr.ClientSecret = v
		}
	}
	pr.ValidateFrequency, pr.ValidateInterval = "interval", 30*time.Second
	fa, ia := attrs["validate_frequency"], attrs["validate_interval"]
	if fa != nil {
		v, ok, d := l.enum(fa, "session", "transaction", "interval")
		diags = append(diags, d...)
		if ok {
			pr.ValidateFrequency = v
		}
	}
	if ia != nil {
		v, ok, d := l.duration(ia, false)
		diags = append(diags, d...)
		switch {
		case !ok:
		case pr.ValidateFrequency != "interval":
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "validate_interval without the interval frequency", Detail: fmt.Sprintf("%s sets validate_interval, which only validate_frequency = \"interval\" uses, but its frequency is %q.", owner, pr.ValidateFrequency), Subject: ia.NameRange.Ptr()})
		case v > maxValidateInterval:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Validate interval too long", Detail: fmt.Sprintf("validate_interval of %s is at most 1d: a revoked token is let in until its cached answer runs out.", owner), Subject: ia.Expr.Range().Ptr()})
		default:
			pr.ValidateInterval = v
		}
	}
	if pr.ValidateFrequency != "interval" {
		pr.ValidateInterval = 0
	}
	return diags
}

// checkFetchURL: an absolute http(s) URL without fragment; http only on
// loopback, since what goes over it must not be read or changed on the way.
func checkFetchURL(a *hcl.Attribute, s, owner, carries string) hcl.Diagnostics {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.Fragment != "" {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid " + a.Name, Detail: fmt.Sprintf("The %s of %s must be an absolute https:// URL without a fragment, not %q.", a.Name, owner, MaskURLCredentials(s)), Subject: a.Expr.Range().Ptr()}}
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Insecure " + a.Name, Detail: fmt.Sprintf("The %s of %s uses http:// on a host other than loopback, and %s would cross the network in clear text. Use https://, or http:// only on 127.0.0.1, [::1] or localhost.", a.Name, owner, carries), Subject: a.Expr.Range().Ptr()}}
	}
	return nil
}

// checkTokenWords: scopes and audiences are single non-empty words
// (RFC 6749 3.3 scope tokens), listed once.
func checkTokenWords(a *hcl.Attribute, words []string, what, owner string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	seen := map[string]bool{}
	for _, w := range words {
		switch {
		case w == "" || strings.ContainsAny(w, " \t\r\n\"\\"):
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid " + what, Detail: fmt.Sprintf("%q in %s of %s is not a %s: one word without spaces, quotes or backslashes.", w, a.Name, owner, what), Subject: a.Expr.Range().Ptr()})
		case seen[w]:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate " + what, Detail: fmt.Sprintf("%q is listed twice in %s of %s.", w, a.Name, owner), Subject: a.Expr.Range().Ptr()})
		}
		seen[w] = true
	}
	return diags
}

func validHeaderName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

func hasFold(list []string, s string) bool {
	for _, e := range list {
		if strings.EqualFold(e, s) {
			return true
		}
	}
	return false
}

func (l *loader) linkProtectedResources() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range sortedKeys(l.prRefs) {
		diags = append(diags, l.resolve(l.prRefs[name])...)
	}
	// Resources that check authd's own tokens need authd to issue some.
	if len(l.cfg.RelyingParties) == 0 {
		for _, name := range sortedKeys(l.cfg.ProtectedResources) {
			pr := l.cfg.ProtectedResources[name]
			if pr == nil || pr.JWKSURL != "" || pr.IntrospectionURL != "" {
				continue
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Protected resource without an issuer",
				Detail:   fmt.Sprintf("protected_resource %q checks authd's own tokens (%s validation without %s), but no relying_party is configured, so authd issues none. Add a relying_party, or give the %s of the server that issues its tokens.", name, pr.TokenValidation, map[string]string{"internal": "jwks_url", "external": "introspection_url"}[pr.TokenValidation], map[string]string{"internal": "jwks_url and issuer", "external": "introspection_url"}[pr.TokenValidation]),
				Subject:  pr.DeclRange.Ptr(),
			})
		}
	}
	return diags
}
