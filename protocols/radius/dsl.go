package radius

import (
	"net"
	"net/netip"
	"sort"

	"github.com/authd/authd/dsl"
)

// FromDSL takes what the RADIUS front end serves out of a loaded
// configuration. Secrets are copied as bytes for the authenticators and
// never logged. dsl's booleans default to the safe side
// (require_message_authenticator and limit_proxy_state are true); Client
// spells them the other way round, so its zero value is the safe one.
func FromDSL(c *dsl.Config) *Config {
	out := &Config{}
	if c == nil {
		return out
	}
	if r := c.Server.RADIUS; r != nil {
		out.Listen, out.AccountingListen = r.Listen, r.AccountingListen
	}
	names := make([]string, 0, len(c.RADIUSClients))
	for n := range c.RADIUSClients {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		cl := c.RADIUSClients[n]
		out.Clients = append(out.Clients, Client{
			Name:                             cl.Name,
			Network:                          prefixOf(cl.Address),
			Secret:                           []byte(cl.Secret.Value()),
			AllowMissingMessageAuthenticator: !cl.RequireMessageAuthenticator,
			AllowProxyState:                  !cl.LimitProxyState,
		})
	}
	for _, p := range c.RADIUSPolicies {
		out.Policies = append(out.Policies, Policy{
			Name:            p.Name,
			Clients:         append([]string(nil), p.Clients...),
			Realm:           p.Realm,
			Journey:         p.Journey,
			When:            p.When,
			ReplyAttributes: p.ReplyAttributes,
			AppendedFactor:  p.AppendedFactor,
		})
	}
	return out
}

// prefixOf converts dsl's *net.IPNet; an invalid one gives the zero
// Prefix, which compile reports as a client without an address.
func prefixOf(n *net.IPNet) netip.Prefix {
	if n == nil {
		return netip.Prefix{}
	}
	addr, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}
	}
	bits, _ := n.Mask.Size()
	if addr.Is4In6() {
		addr = addr.Unmap()
		if bits > 32 {
			bits -= 96
		}
	}
	return netip.PrefixFrom(addr, bits)
}
