package oauth

import (
	"sort"
	"strings"
	"time"

	"github.com/authd/authd/dsl"
)

// FromDSL builds the provider's Config from a loaded configuration: the
// relying_party blocks, and server.http.public_url as the issuer (derived
// from the listen address when unset). It assumes dsl validated the
// blocks; New checks again what would be unsafe to serve.
func FromDSL(c *dsl.Config) Config {
	out := Config{}
	if c == nil {
		return out
	}
	out.Issuer = issuerOf(c.Server.HTTP)
	for name, r := range c.Realms {
		if r != nil && r.SSOSessionTTL > 0 {
			if out.RealmSSOTTL == nil {
				out.RealmSSOTTL = map[string]time.Duration{}
			}
			out.RealmSSOTTL[name] = r.SSOSessionTTL
		}
	}
	names := make([]string, 0, len(c.RelyingParties))
	for n := range c.RelyingParties {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rp := c.RelyingParties[n]
		cl := &Client{
			Name:            rp.Name,
			Realm:           rp.Realm,
			Journey:         rp.Journey,
			Public:          rp.ClientType == "public",
			SecretHash:      rp.ClientSecretHash,
			GrantTypes:      append([]string(nil), rp.GrantTypes...),
			PKCERequired:    rp.PKCE != "optional",
			RedirectURIs:    append([]string(nil), rp.RedirectURIs...),
			Scopes:          append([]string(nil), rp.Scopes...),
			AccessTokenTTL:  dslTTL(rp.AccessTokenTTL),
			RefreshTokenTTL: dslTTL(rp.RefreshTokenTTL),
			JWTAccessTokens: rp.AccessTokenFormat == "jwt",

			PostLogoutRedirectURIs: append([]string(nil), rp.PostLogoutRedirectURIs...),
		}
		// introspectors name relying parties; the provider wants client ids.
		for _, n := range rp.Introspectors {
			if o := c.RelyingParties[n]; o != nil {
				cl.Introspectors = append(cl.Introspectors, clientIDOf(o))
			}
		}
		cl.ID = clientIDOf(rp)
		if rp.ClientSecret.IsSet() {
			cl.Secret = rp.ClientSecret.Value()
		}
		for _, c := range rp.Claims {
			cl.Claims = append(cl.Claims, Claim{Name: c.Name, Scope: c.Scope, Value: c.Value})
		}
		out.Clients = append(out.Clients, cl)
	}
	return out
}

func clientIDOf(rp *dsl.RelyingParty) string {
	if rp.ClientID == "" {
		return rp.Name
	}
	return rp.ClientID
}

// dslTTL maps dsl's lifetimes (defaults already applied; zero means the
// token never expires) to the provider's (zero default, Never).
func dslTTL(d time.Duration) time.Duration {
	if d == 0 {
		return Never
	}
	return d
}

func issuerOf(h dsl.HTTP) string {
	if h.PublicURL != "" {
		return strings.TrimRight(h.PublicURL, "/")
	}
	listen := h.Listen
	if listen == "" {
		listen = dsl.DefaultHTTPListen
	}
	scheme := "http"
	if h.TLS != nil {
		scheme = "https"
	}
	if strings.HasPrefix(listen, ":") {
		listen = "localhost" + listen
	}
	return scheme + "://" + listen
}
