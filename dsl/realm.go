package dsl

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/authd/authd/engine"
)

var realmSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "display_name"},
		{Name: "enrollment_mode"},
		{Name: "default_locale"},
		{Name: "push_providers"},
		{Name: "sms_gateway"},
		{Name: "sso_session_ttl"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "lockout"}},
}

var lockoutSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "max_failures"}, {Name: "window"}, {Name: "duration"}},
}

// Enrollment modes: what a second push device does to the first.
var enrollmentModes = []string{"single_device", "override_allowed", "multiple_devices"}

// Lockout defaults when a lockout block leaves a setting out.
const (
	defaultLockoutMaxFailures = 5
	defaultLockoutWindow      = "15m"
	defaultLockoutDuration    = "15m"
)

type realmLinks struct {
	pushProviders []ref
	smsGateway    ref
}

// decodeRealmBlock decodes a realm. display_name defaults to the name,
// enrollment_mode to single_device, default_locale to "en".
func decodeRealmBlock(l *loader, block *hcl.Block) (*Realm, hcl.Diagnostics) {
	name := block.Labels[0]
	r := &Realm{
		Realm: &engine.Realm{
			Name:           name,
			DisplayName:    name,
			EnrollmentMode: "single_device",
			DefaultLocale:  "en",
		},
		SSOSessionTTL: DefaultSSOSessionTTL,
		DeclRange:     block.DefRange,
		srcRange:      blockRange(block),
	}
	links := &realmLinks{}
	if l.isFirst(block) {
		l.realmRefs[name] = links
	}
	content, diags := decodeContent(block.Body, realmSchema, blockTitle(block))
	if content == nil {
		return r, diags
	}
	if a := content.Attributes["display_name"]; a != nil {
		if v, ok, d := l.str(a); ok {
			r.DisplayName = v
		} else {
			diags = append(diags, d...)
		}
	}
	if a := content.Attributes["enrollment_mode"]; a != nil {
		if v, ok, d := l.enum(a, enrollmentModes...); ok {
			r.EnrollmentMode = v
		} else {
			diags = append(diags, d...)
		}
	}
	if a := content.Attributes["default_locale"]; a != nil {
		if v, ok, d := l.str(a); ok {
			if v == "" {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Empty locale",
					Detail:   "default_locale must be a language tag like \"en\" or \"de-CH\".",
					Subject:  a.Expr.Range().Ptr(),
				})
			} else {
				r.DefaultLocale = v
			}
		} else {
			diags = append(diags, d...)
		}
	}
	if a := content.Attributes["push_providers"]; a != nil {
		refs, d := parseRefList(a.Expr, kindPushProvider, "push_providers")
		diags = append(diags, d...)
		links.pushProviders = refs
		for _, rf := range refs {
			r.PushProviders = append(r.PushProviders, rf.name)
		}
	}
	if a := content.Attributes["sms_gateway"]; a != nil {
		rf, d := parseRef(a.Expr, kindSMSGateway, "sms_gateway", false)
		diags = append(diags, d...)
		links.smsGateway = rf
		r.SMSGateway = rf.name
	}
	if a := content.Attributes["sso_session_ttl"]; a != nil {
		diags = append(diags, decodeSSOSessionTTL(l, a, r)...)
	}
	if b, d := oneBlock(content.Blocks, "lockout", fmt.Sprintf("realm %q", name)); b != nil || d != nil {
		diags = append(diags, d...)
		if b != nil {
			lo, d := decodeLockoutBlock(l, b)
			diags = append(diags, d...)
			r.Lockout = lo
		}
	}
	return r, diags
}

func decodeLockoutBlock(l *loader, b *hcl.Block) (*engine.Lockout, hcl.Diagnostics) {
	lo := &engine.Lockout{MaxFailures: defaultLockoutMaxFailures}
	lo.Window, _ = parseDuration(defaultLockoutWindow)
	lo.Duration, _ = parseDuration(defaultLockoutDuration)
	c, diags := b.Body.Content(lockoutSchema)
	if c == nil {
		return lo, diags
	}
	if a := c.Attributes["max_failures"]; a != nil {
		if v, ok, d := l.integer(a, 1, 1000); ok {
			lo.MaxFailures = int(v)
		} else {
			diags = append(diags, d...)
		}
	}
	if a := c.Attributes["window"]; a != nil {
		if v, ok, d := l.duration(a, false); ok {
			lo.Window = v
		} else {
			diags = append(diags, d...)
		}
	}
	if a := c.Attributes["duration"]; a != nil {
		if v, ok, d := l.duration(a, false); ok {
			lo.Duration = v
		} else {
			diags = append(diags, d...)
		}
	}
	return lo, diags
}

// linkRealms resolves each realm's push providers and SMS gateway.
func (l *loader) linkRealms() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range sortedKeys(l.realmRefs) {
		links := l.realmRefs[name]
		for _, r := range links.pushProviders {
			diags = append(diags, l.resolve(r)...)
		}
		diags = append(diags, l.resolve(links.smsGateway)...)
	}
	return diags
}
