package dsl

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

var relyingPartySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "realm", Required: true},
		{Name: "journey"},
		{Name: "client_type"},
		{Name: "client_id"},
		{Name: "client_secret"},
		{Name: "client_secret_hash"},
		{Name: "grant_types"},
		{Name: "pkce"},
		{Name: "redirect_uris"},
		{Name: "scopes"},
		{Name: "access_token_ttl"},
		{Name: "refresh_token_ttl"},
		{Name: "access_token_format"},
		{Name: "post_logout_redirect_uris"},
		{Name: "introspectors"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "claim", LabelNames: []string{"name"}}},
}

var claimSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "scope"}, {Name: "value", Required: true}},
}

// Grant types a relying party may use.
var grantTypes = []string{"authorization_code", "refresh_token", "password", "client_credentials"}

type rpLinks struct {
	realm, journey ref
	clientIDRange  hcl.Range
	introspectors  []ref
}

// decodeRelyingPartyBlock decodes a relying_party and applies the OAuth
// rules that need no other block: public clients use PKCE and no secret,
// confidential ones exactly one of client_secret and client_secret_hash,
// redirect URIs only with the code grant (https, or http on loopback),
// claims only with the openid scope, post-logout redirect URIs only with
// the code grant (as redirect URIs).
//
// Defaults: client_type "confidential", client_id the block name,
// grant_types ["authorization_code"], pkce "required", scopes ["openid"],
// access_token_format "opaque", TTLs 10h and 1d. A claim without scope is
// issued with openid.
func decodeRelyingPartyBlock(l *loader, block *hcl.Block) (*RelyingParty, hcl.Diagnostics) {
	rp := &RelyingParty{
		Name:              block.Labels[0],
		ClientType:        "confidential",
		ClientID:          block.Labels[0],
		GrantTypes:        []string{"authorization_code"},
		PKCE:              "required",
		Scopes:            []string{"openid"},
		AccessTokenTTL:    DefaultAccessTokenTTL,
		RefreshTokenTTL:   DefaultRefreshTokenTTL,
		AccessTokenFormat: "opaque",
		DeclRange:         block.DefRange,
	}
	owner := fmt.Sprintf("relying_party %q", rp.Name)
	links := &rpLinks{clientIDRange: block.LabelRanges[0]}
	content, diags := decodeContent(block.Body, relyingPartySchema, owner)
	if content == nil {
		return rp, diags
	}
	attrs := content.Attributes
	if a := attrs["realm"]; a != nil {
		r, d := parseRef(a.Expr, kindRealm, "realm", false)
		diags = append(diags, d...)
		links.realm, rp.Realm = r, r.name
	}
	if a := attrs["journey"]; a != nil {
		r, d := parseRef(a.Expr, kindJourney, "journey", false)
		diags = append(diags, d...)
		links.journey, rp.Journey = r, r.name
	}
	if a := attrs["client_type"]; a != nil {
		v, ok, d := l.enum(a, "confidential", "public")
		diags = append(diags, d...)
		if ok {
			rp.ClientType = v
		}
	}
	if a := attrs["client_id"]; a != nil {
		v, ok, d := l.str(a)
		diags = append(diags, d...)
		if ok {
			if v == "" {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Empty client_id", Detail: fmt.Sprintf("The client_id of %s cannot be empty; leave it out to use the block name.", owner), Subject: a.Expr.Range().Ptr()})
			} else {
				rp.ClientID = v
			}
			links.clientIDRange = a.Expr.Range()
		}
	}
	grantsOK := true
	if a := attrs["grant_types"]; a != nil {
		v, ok, d := l.strList(a)
		diags = append(diags, d...)
		grantsOK = ok
		if ok {
			d := checkGrantTypes(a, v)
			diags = append(diags, d...)
			if d.HasErrors() {
				grantsOK = false
			} else {
				rp.GrantTypes = v
			}
		}
	}
	pkceAttr := attrs["pkce"]
	if a := pkceAttr; a != nil {
		raw, _, ok, d := l.value(a, cty.DynamicPseudoType)
		diags = append(diags, d...)
		if ok {
			switch {
			case raw.Type() == cty.Bool && raw.True():
				rp.PKCE = "required"
			case raw.Type() == cty.Bool:
				rp.PKCE = "optional"
			case raw.Type() == cty.String && (raw.AsString() == "required" || raw.AsString() == "optional"):
				rp.PKCE = raw.AsString()
			case raw.Type() == cty.String:
				diags = append(diags, badEnum("pkce", raw.AsString(), a.Expr.Range(), []string{"required", "optional"}))
			default:
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Incorrect attribute value type", Detail: "Inappropriate value for attribute \"pkce\": \"required\" or \"optional\" is required.", Subject: a.Expr.Range().Ptr()})
			}
		}
	}
	if a := attrs["scopes"]; a != nil {
		v, ok, d := l.strList(a)
		diags = append(diags, d...)
		if ok {
			rp.Scopes = v
		}
	}
	if a := attrs["access_token_format"]; a != nil {
		v, ok, d := l.enum(a, "opaque", "jwt")
		diags = append(diags, d...)
		if ok {
			rp.AccessTokenFormat = v
		}
	}
	for _, t := range []struct {
		name string
		dst  *time.Duration
	}{{"access_token_ttl", &rp.AccessTokenTTL}, {"refresh_token_ttl", &rp.RefreshTokenTTL}} {
		a := attrs[t.name]
		if a == nil {
			continue
		}
		v, ok, d := l.duration(a, true)
		diags = append(diags, d...)
		if !ok {
			continue
		}
		*t.dst = v
		if v == 0 {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Token never expires",
				Detail:   fmt.Sprintf("%s of %s is \"0\", so its tokens never expire: a leaked token stays valid until revoked. Give a lifetime, like \"10h\".", t.name, owner),
				Subject:  a.Expr.Range().Ptr(),
			})
		}
	}

	// Secrets by client type.
	secretAttr, hashAttr := attrs["client_secret"], attrs["client_secret_hash"]
	public := rp.ClientType == "public"
	if public {
		for _, a := range []*hcl.Attribute{secretAttr, hashAttr} {
			if a != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Public client with a secret",
					Detail:   fmt.Sprintf("%s is a public client (a browser or mobile app), which cannot keep a secret; remove %s, or make it client_type = \"confidential\".", owner, a.Name),
					Subject:  a.NameRange.Ptr(),
				})
			}
		}
		if pkceAttr != nil && rp.PKCE == "optional" {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Public client without PKCE",
				Detail:   fmt.Sprintf("%s is a public client, which must use PKCE (S256): without a secret nothing else binds the code to the client. Set pkce = \"required\" or leave it out.", owner),
				Subject:  pkceAttr.Expr.Range().Ptr(),
			})
		}
		rp.PKCE = "required"
	} else {
		switch {
		case secretAttr != nil && hashAttr != nil:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Both client_secret and client_secret_hash",
				Detail:   fmt.Sprintf("%s gives both client_secret and client_secret_hash; give one: the secret (from env() or file()) or its hash.", owner),
				Subject:  hashAttr.NameRange.Ptr(),
			})
		case secretAttr == nil && hashAttr == nil:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Confidential client without a secret",
				Detail:   fmt.Sprintf("%s is a confidential client, so it needs client_secret (from env() or file()) or client_secret_hash. For a browser or mobile app without a secret, set client_type = \"public\".", owner),
				Subject:  block.DefRange.Ptr(),
			})
		case secretAttr != nil:
			v, ok, d := l.secret(secretAttr, owner)
			diags = append(diags, d...)
			if ok {
				rp.ClientSecret = v
			}
		default:
			v, ok, d := l.str(hashAttr)
			diags = append(diags, d...)
			if ok {
				if !knownHash(v) {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Invalid client_secret_hash",
						Detail:   fmt.Sprintf("The client_secret_hash of %s must be an argon2id, bcrypt or sha512-crypt hash in modular crypt format (beginning \"$argon2id$\", \"$2b$\" or \"$6$\").", owner),
						Subject:  hashAttr.Expr.Range().Ptr(),
					})
				} else {
					rp.ClientSecretHash = v
				}
			}
		}
	}
	if grantsOK {
		for _, g := range rp.GrantTypes {
			if g == "client_credentials" && public {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Public client with client_credentials",
					Detail:   fmt.Sprintf("%s is a public client, and client_credentials authenticates the client by its secret, which a public client does not have.", owner),
					Subject:  attrs["grant_types"].Expr.Range().Ptr(),
				})
			}
		}
	}

	// Redirect URIs belong to the code grant, and so do the URIs
	// RP-initiated logout may send the browser back to (only a browser
	// login has a session to log out of).
	hasCode := hasString(rp.GrantTypes, "authorization_code")
	needCode := func(a *hcl.Attribute, summary, why string) {
		if grantsOK && !hasCode {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  summary,
				Detail:   fmt.Sprintf("%s lists %s, %s, but its grant_types are %s. Add \"authorization_code\" or remove %s.", owner, a.Name, why, quoteList(rp.GrantTypes), a.Name),
				Subject:  a.NameRange.Ptr(),
			})
		}
	}
	for _, u := range []struct {
		attr, summary, why string
		dst                *[]string
	}{
		{"redirect_uris", "Redirect URIs without the code grant", "which only the authorization_code grant uses", &rp.RedirectURIs},
		{"post_logout_redirect_uris", "Post-logout redirect URIs without the code grant", "which only a browser login (the authorization_code grant) has use for", &rp.PostLogoutRedirectURIs},
	} {
		a := attrs[u.attr]
		if a == nil {
			continue
		}
		v, ok, d := l.strList(a)
		diags = append(diags, d...)
		if ok {
			*u.dst = v
			needCode(a, u.summary, u.why)
			diags = append(diags, checkRedirectURIs(a, v, owner)...)
		}
	}
	if attrs["redirect_uris"] == nil && grantsOK && hasCode {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing redirect URIs",
			Detail:   fmt.Sprintf("%s uses the authorization_code grant, which needs at least one redirect URI: add redirect_uris = [\"https://...\"].", owner),
			Subject:  block.DefRange.Ptr(),
		})
	}
	if a := attrs["introspectors"]; a != nil {
		refs, d := parseRefList(a.Expr, kindRelyingParty, "introspectors")
		diags = append(diags, d...)
		links.introspectors = refs
		for _, r := range refs {
			rp.Introspectors = append(rp.Introspectors, r.name)
		}
	}

	// A journey, unless the client only ever authenticates itself.
	onlyClientCreds := len(rp.GrantTypes) > 0
	for _, g := range rp.GrantTypes {
		if g != "client_credentials" {
			onlyClientCreds = false
		}
	}
	if attrs["journey"] == nil && grantsOK && !onlyClientCreds {
		diags = append(diags, missingAttr("journey", owner, block.DefRange,
			"every grant but client_credentials logs a user in through a journey."))
	}

	// Claims.
	hasOpenID := hasString(rp.Scopes, "openid")
	sc := &scope{what: fmt.Sprintf("a claim of %s", owner), roots: claimRoots, why: "claims are issued with a token, outside any journey's state."}
	for _, b := range content.Blocks {
		c := &Claim{Name: b.Labels[0], Scope: "openid", DeclRange: b.DefRange}
		cc, d := decodeContent(b.Body, claimSchema, blockTitle(b)+" of "+owner)
		diags = append(diags, d...)
		if cc == nil {
			continue
		}
		scopeRange := b.DefRange
		if a := cc.Attributes["scope"]; a != nil {
			v, ok, d := l.str(a)
			diags = append(diags, d...)
			if ok {
				c.Scope = v
				scopeRange = a.Expr.Range()
			}
		}
		if a := cc.Attributes["value"]; a != nil {
			c.Value = a.Expr
			_, d := l.checkRuntimeExpr(a.Expr, sc)
			diags = append(diags, d...)
		}
		if !hasOpenID {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Claim without openid",
				Detail:   fmt.Sprintf("The claim %q of %s goes into ID tokens and userinfo, which exist only with the openid scope; add \"openid\" to scopes.", c.Name, owner),
				Subject:  b.DefRange.Ptr(),
			})
		} else if !hasString(rp.Scopes, c.Scope) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Claim never issued",
				Detail:   fmt.Sprintf("The claim %q of %s is granted by the scope %q, which is not among its scopes (%s), so it is never issued.", c.Name, owner, c.Scope, listWords(rp.Scopes)),
				Subject:  scopeRange.Ptr(),
			})
		}
		rp.Claims = append(rp.Claims, c)
	}
	if l.isFirst(block) {
		l.rpRefs[rp.Name] = links
	}
	return rp, diags
}

func checkGrantTypes(a *hcl.Attribute, grants []string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if len(grants) == 0 {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No grant types",
			Detail:   fmt.Sprintf("grant_types must list at least one of %s.", quoteList(grantTypes)),
			Subject:  a.Expr.Range().Ptr(),
		}}
	}
	elems, _ := hcl.ExprList(a.Expr)
	seen := map[string]bool{}
	for i, g := range grants {
		rng := a.Expr.Range()
		if i < len(elems) && len(elems) == len(grants) {
			rng = elems[i].Range()
		}
		if !hasString(grantTypes, g) {
			d := badEnum("grant_types", g, rng, grantTypes)
			d.Summary = "Unknown grant type"
			diags = append(diags, d)
			continue
		}
		if seen[g] {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate grant type", Detail: fmt.Sprintf("%q is listed twice.", g), Subject: rng.Ptr()})
		}
		seen[g] = true
	}
	return diags
}

// checkRedirectURIs: absolute, no fragment (RFC 6749 3.1.2), https or
// http on loopback only (RFC 8252 7.3), or a private-use scheme with a
// dot for native apps (RFC 8252 7.1).
func checkRedirectURIs(a *hcl.Attribute, uris []string, owner string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	what := "redirect URI"
	if a.Name == "post_logout_redirect_uris" {
		what = "post-logout redirect URI"
	}
	elems, _ := hcl.ExprList(a.Expr)
	for i, raw := range uris {
		rng := a.Expr.Range()
		if len(elems) == len(uris) {
			rng = elems[i].Range()
		}
		bad := func(summary, detail string) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rng.Ptr()})
		}
		u, err := url.Parse(raw)
		// Messages quote s, the URI with its credentials masked.
		s := MaskURLCredentials(raw)
		switch {
		case err != nil || u.Scheme == "":
			bad("Invalid redirect URI", fmt.Sprintf("The %s %q of %s must be an absolute URI, like \"https://app.example.com/callback\".", what, s, owner))
		case u.Fragment != "" || strings.Contains(raw, "#"):
			bad("Invalid redirect URI", fmt.Sprintf("The %s %q of %s has a fragment (#...), which OAuth forbids (RFC 6749, section 3.1.2).", what, s, owner))
		case u.Scheme == "http":
			if !isLoopbackHost(u.Hostname()) {
				bad("Insecure redirect URI", fmt.Sprintf("The %s %q of %s uses http:// on a host other than loopback, so the code would cross the network in clear text. Use https://, or http:// only on 127.0.0.1, [::1] or localhost.", what, s, owner))
			}
		case u.Scheme == "https":
			if u.Host == "" {
				bad("Invalid redirect URI", fmt.Sprintf("The %s %q of %s has no host.", what, s, owner))
			}
		case !strings.Contains(u.Scheme, "."):
			bad("Invalid redirect URI", fmt.Sprintf("The %s %q of %s uses the scheme %q. Use https://, http:// on loopback, or a reverse-domain private-use scheme for native apps, like \"com.example.app:/callback\" (RFC 8252).", what, s, owner, u.Scheme))
		}
	}
	return diags
}

func knownHash(s string) bool {
	for _, p := range []string{"$argon2id$", "$2a$", "$2b$", "$2y$", "$6$"} {
		if strings.HasPrefix(s, p) && len(s) > len(p)+10 {
			return true
		}
	}
	return false
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// linkRelyingParties resolves realm and journey (which must belong to
// the same realm) and reports duplicate client_ids.
func (l *loader) linkRelyingParties() hcl.Diagnostics {
	var diags hcl.Diagnostics
	ids := map[string]string{}
	names := sortedKeys(l.cfg.RelyingParties)
	// Source order, so the later duplicate is the one reported.
	sortByRange(names, func(n string) hcl.Range { return l.cfg.RelyingParties[n].DeclRange })
	for _, name := range names {
		rp := l.cfg.RelyingParties[name]
		links := l.rpRefs[name]
		if links == nil {
			continue
		}
		diags = append(diags, l.resolve(links.realm)...)
		jd := l.resolve(links.journey)
		diags = append(diags, jd...)
		if j := l.cfg.Journeys[rp.Journey]; len(jd) == 0 && j != nil && rp.Realm != "" && j.Realm != "" && j.Realm != rp.Realm {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Journey of another realm",
				Detail:   fmt.Sprintf("relying_party %q belongs to realm %q, but journey %q belongs to realm %q.", name, rp.Realm, rp.Journey, j.Realm),
				Subject:  links.journey.rng.Ptr(),
			})
		}
		if prev, dup := ids[rp.ClientID]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate client_id",
				Detail:   fmt.Sprintf("relying_party %q and relying_party %q both use the client_id %q; a token request could not tell them apart.", prev, name, rp.ClientID),
				Subject:  links.clientIDRange.Ptr(),
			})
			continue
		}
		ids[rp.ClientID] = name
	}
	for _, name := range names {
		if links := l.rpRefs[name]; links != nil {
			diags = append(diags, l.checkIntrospectors(l.cfg.RelyingParties[name], links.introspectors)...)
		}
	}
	return diags
}

// checkIntrospectors: each names another, confidential relying party of
// the same realm (introspection needs client authentication, and a token
// means nothing outside its realm).
func (l *loader) checkIntrospectors(rp *RelyingParty, refs []ref) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, r := range refs {
		if d := l.resolve(r); d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		other := l.cfg.RelyingParties[r.name]
		bad := func(summary, detail string) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: r.rng.Ptr()})
		}
		switch {
		case other == nil:
		case other.Name == rp.Name:
			bad("Relying party introspects itself", fmt.Sprintf("relying_party %q lists itself in introspectors; a client may always introspect its own tokens, so remove it.", rp.Name))
		case other.ClientType == "public":
			bad("Public introspector", fmt.Sprintf("relying_party %q lists relying_party %q in introspectors, but it is a public client: introspection needs a client that authenticates with a secret.", rp.Name, other.Name))
		case rp.Realm != "" && other.Realm != "" && other.Realm != rp.Realm:
			bad("Introspector of another realm", fmt.Sprintf("relying_party %q (realm %q) lists relying_party %q of realm %q in introspectors; a resource server must belong to the realm whose tokens it checks.", rp.Name, rp.Realm, other.Name, other.Realm))
		}
	}
	return diags
}

// maxSSOSessionTTL bounds a realm's sso_session_ttl: a browser session
// that outlives a month outlives most people's sense of being signed in.
const maxSSOSessionTTL = 30 * 24 * time.Hour

// decodeSSOSessionTTL reads a realm's sso_session_ttl (it lives here, with
// the rest of the OAuth language): a positive duration of at most 30 days.
// An SSO session cannot be made endless, and "0" is refused rather than
// read as "never expires" (as for tokens) or "no SSO"; a relying party that
// wants a fresh login every time sends prompt=login.
func decodeSSOSessionTTL(l *loader, a *hcl.Attribute, r *Realm) hcl.Diagnostics {
	v, ok, diags := l.duration(a, true)
	if !ok {
		return diags
	}
	if v <= 0 || v > maxSSOSessionTTL {
		return append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid SSO session lifetime",
			Detail:   fmt.Sprintf("sso_session_ttl of realm %q must be between 1s and 30d, like \"8h\"; an SSO session cannot be endless. To make a relying party log in every time, have it send prompt=login.", r.Name),
			Subject:  a.Expr.Range().Ptr(),
		})
	}
	r.SSOSessionTTL = v
	return diags
}
