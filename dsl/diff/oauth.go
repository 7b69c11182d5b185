package diff

import (
	"strings"
)

// oauthWarnings finds the OAuth changes that widen what a relying party or
// a realm's browser sessions allow, beside the PKCE and token-lifetime
// checks of warnings:
//
//   - a redirect URI or post-logout redirect URI added: authorization codes
//     (or a signed-out browser) may now be sent there, so a typo or a
//     foreign host in a review must stand out;
//   - an introspector added: another relying party may now read this one's
//     tokens (their user, scopes and claims);
//   - a realm's sso_session_ttl raised: a browser skips journeys longer.
//
// A relying party or realm that is new has nothing to compare with and
// shows as an added section instead.
func (c *comparer) oauthWarnings() {
	for _, name := range sortedKeys(c.new.RelyingParties) {
		o, n := c.old.RelyingParties[name], c.new.RelyingParties[name]
		if o == nil {
			continue
		}
		subject := `relying_party "` + name + `"`
		for _, u := range added(o.RedirectURIs, n.RedirectURIs) {
			c.warn(subject, "redirect URI added: %s (authorization codes may be sent there)", u)
		}
		for _, u := range added(o.PostLogoutRedirectURIs, n.PostLogoutRedirectURIs) {
			c.warn(subject, "post-logout redirect URI added: %s (/oauth2/logout may send browsers there)", u)
		}
		for _, rp := range added(o.Introspectors, n.Introspectors) {
			c.warn(subject, "introspector added: relying_party %q may now introspect this client's tokens (user, scopes, claims)", rp)
		}
	}
	for _, name := range sortedKeys(c.new.Realms) {
		o, n := c.old.Realms[name], c.new.Realms[name]
		if o == nil {
			continue
		}
		if n.SSOSessionTTL > o.SSOSessionTTL && o.SSOSessionTTL > 0 {
			c.warn(`realm "`+name+`"`, "sso_session_ttl raised: %s → %s (a browser skips relying parties' journeys for longer)",
				durationText(o.SSOSessionTTL), durationText(n.SSOSessionTTL))
		}
	}
}

// added is what new holds that old does not, in new's order; URIs compare
// exactly, as the provider matches them.
func added(old, new []string) []string {
	had := make(map[string]bool, len(old))
	for _, s := range old {
		had[s] = true
	}
	var out []string
	for _, s := range new {
		if !had[s] && strings.TrimSpace(s) != "" {
			out = append(out, s)
			had[s] = true
		}
	}
	return out
}
