package radius

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Config is what the RADIUS front end serves: its listeners, the NASes
// allowed to ask and the policies that map their requests to journeys.
// FromDSL builds it from a loaded configuration; tests build it by hand.
type Config struct {
	// Listen is the authentication address (UDP), e.g. "127.0.0.1:1812"
	// or "[::]:1812" for IPv6 and IPv4 alike. Used by ListenAndServe only.
	Listen string
	// AccountingListen is the accounting address; empty means none.
	AccountingListen string
	Clients          []Client
	// Policies are tried in order; the first whose clients and When match
	// the request wins.
	Policies []Policy
}

// Client is a NAS allowed to send requests, matched by source address.
// The zero values of the booleans are the safe defaults, so a forgotten
// field never weakens the BlastRADIUS (CVE-2024-3596) mitigations.
type Client struct {
	Name string
	// Network is the client's address or network; the most specific
	// network containing a packet's source wins.
	Network netip.Prefix
	Secret  []byte
	// AllowMissingMessageAuthenticator accepts Access-Requests without a
	// Message-Authenticator (dsl: require_message_authenticator = false),
	// for old NASes that cannot send one.
	AllowMissingMessageAuthenticator bool
	// AllowProxyState accepts Proxy-State in requests that have no
	// Message-Authenticator (dsl: limit_proxy_state = false), for a client
	// that is itself a proxy.
	AllowProxyState bool
}

// Policy maps requests of some clients to a realm's journey.
type Policy struct {
	Name string
	// Clients are Client names; empty means every client.
	Clients []string
	Realm   string
	Journey string
	// When is a runtime expression over request (and user.name, the
	// User-Name); nil means always.
	When hcl.Expression
	// ReplyAttributes is an object expression evaluated on Access-Accept
	// over user, state, request and now; nil means none.
	ReplyAttributes hcl.Expression
	// AppendedFactor accepts the Duo-style "password,push" and
	// "password,123456" in one User-Password, for clients that cannot
	// show a challenge: the part after the last comma answers the
	// journey's code prompt when it is "push" or 4 to 10 digits.
	AppendedFactor bool
}

// Limits bound what one server holds in memory. Zero fields take the
// defaults below.
type Limits struct {
	// MaxHeld is how many requests may be held at once, all clients
	// together (default 10000).
	MaxHeld int
	// MaxHeldPerClient (default 1000) and MaxHeldPerUser (default 3) keep
	// one NAS or one user from filling the server with waits.
	MaxHeldPerClient int
	MaxHeldPerUser   int
	// MaxHold bounds one hold whatever the journey says (default 5m).
	MaxHold time.Duration
	// ReplyCacheTTL is how long a reply is replayed to retransmissions
	// after it was sent (default 30s, RFC 5080).
	ReplyCacheTTL time.Duration
	// ChallengeTTL is how long an Access-Challenge's State stays valid
	// (default 5m, never beyond the session's expiry).
	ChallengeTTL time.Duration
	// MaxChallenges bounds the States outstanding (default 100000).
	MaxChallenges int
	// MaxInflight bounds the requests processed at once, held ones not
	// counted (default 4096); beyond it packets are dropped and the
	// clients retransmit.
	MaxInflight int
	// DropAuditWindow is the aggregation window of dropped-packet audit
	// entries: at most one entry per source address and drop reason per
	// window, carrying the count (default 1m). See dropaudit.go.
	DropAuditWindow time.Duration
	// MaxDropAuditSources bounds the (address, reason) pairs tracked in
	// one window (default 1000); drops from further addresses are
	// aggregated under the address "*", one entry per reason.
	MaxDropAuditSources int
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxHeld, 10000)
	def(&l.MaxHeldPerClient, 1000)
	def(&l.MaxHeldPerUser, 3)
	defD(&l.MaxHold, 5*time.Minute)
	defD(&l.ReplyCacheTTL, 30*time.Second)
	defD(&l.ChallengeTTL, 5*time.Minute)
	def(&l.MaxChallenges, 100000)
	def(&l.MaxInflight, 4096)
	defD(&l.DropAuditWindow, time.Minute)
	def(&l.MaxDropAuditSources, 1000)
	return l
}

// compiled is a Config checked and indexed for lookups.
type compiled struct {
	cfg      *Config
	clients  []*Client // most specific network first
	byName   map[string]*Client
	policies map[string]*Policy
	// whenReads is which variables the policies' `when` expressions read,
	// so a request builds only those (see policyEvalContext).
	whenReads whenReads
}

func compile(cfg *Config) (*compiled, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	c := &compiled{cfg: cfg, byName: map[string]*Client{}, policies: map[string]*Policy{}}
	var errs []error
	nets := map[netip.Prefix]string{}
	for i := range cfg.Clients {
		cl := &cfg.Clients[i]
		switch {
		case cl.Name == "":
			errs = append(errs, fmt.Errorf("radius client #%d has no name", i+1))
			continue
		case c.byName[cl.Name] != nil:
			errs = append(errs, fmt.Errorf("radius client %q is defined twice", cl.Name))
			continue
		case !cl.Network.IsValid():
			errs = append(errs, fmt.Errorf("radius client %q has no address", cl.Name))
			continue
		case len(cl.Secret) == 0:
			errs = append(errs, fmt.Errorf("radius client %q has an empty secret", cl.Name))
			continue
		}
		p := cl.Network.Masked()
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		if other, dup := nets[p]; dup {
			errs = append(errs, fmt.Errorf("radius clients %q and %q have the same address %s", other, cl.Name, p))
			continue
		}
		nets[p] = cl.Name
		cp := *cl
		cp.Network = p
		c.byName[cl.Name] = &cp
		c.clients = append(c.clients, &cp)
	}
	sort.SliceStable(c.clients, func(i, j int) bool { return c.clients[i].Network.Bits() > c.clients[j].Network.Bits() })
	for i := range cfg.Policies {
		p := &cfg.Policies[i]
		if p.Name == "" || c.policies[p.Name] != nil {
			errs = append(errs, fmt.Errorf("radius policy #%d: missing or duplicate name %q", i+1, p.Name))
			continue
		}
		if p.Realm == "" || p.Journey == "" {
			errs = append(errs, fmt.Errorf("radius policy %q needs a realm and a journey", p.Name))
		}
		for _, name := range p.Clients {
			if _, ok := c.byName[name]; !ok {
				errs = append(errs, fmt.Errorf("radius policy %q names unknown client %q", p.Name, name))
			}
		}
		c.policies[p.Name] = p
		if p.When != nil {
			c.whenReads.add(p.When)
		}
	}
	return c, errors.Join(errs...)
}

// clientFor returns the client whose network holds addr most specifically.
func (c *compiled) clientFor(addr netip.Addr) *Client {
	addr = addr.Unmap()
	for _, cl := range c.clients {
		if cl.Network.Contains(addr) {
			return cl
		}
	}
	return nil
}

// serves reports whether the policy applies to the client.
func (p *Policy) serves(client string) bool {
	if len(p.Clients) == 0 {
		return true
	}
	for _, c := range p.Clients {
		if c == client {
			return true
		}
	}
	return false
}
