package diff

import (
	"net"
	"slices"
	"sort"

	"github.com/authd/authd/dsl"
)

// apiClientView is what of an api_client is compared, keyed as the
// configuration writes it. The lists are sorted, since their order means
// nothing (any listed address, journey or URL is allowed), and the
// networks are written as CIDRs. TestAPIClientViewComplete keeps it in step
// with dsl.APIClient.
type apiClientView struct {
	Secret           dsl.Secret        `hcl:"secret"`
	AllowedIPs       []string          `hcl:"allowed_ips"`
	Journeys         []string          `hcl:"journeys"`
	CallbackURLs     []string          `hcl:"callback_urls"`
	CallbackAuth     *callbackAuthView `hcl:"callback_auth"`
	GeoIPDatabase    string            `hcl:"geoip_database"`
	MessageTemplates map[string]string `hcl:"message_templates"`
}

type callbackAuthView struct {
	Username string     `hcl:"username"`
	Password dsl.Secret `hcl:"password"`
}

func viewAPIClient(c *dsl.APIClient) *apiClientView {
	v := &apiClientView{
		Secret:           c.Secret,
		Journeys:         sortedCopy(c.Journeys),
		CallbackURLs:     sortedCopy(c.CallbackURLs),
		GeoIPDatabase:    c.GeoIPDatabase,
		MessageTemplates: c.MessageTemplates,
	}
	for _, n := range c.AllowedIPs {
		v.AllowedIPs = append(v.AllowedIPs, n.String())
	}
	sort.Strings(v.AllowedIPs)
	if a := c.CallbackAuth; a != nil {
		v.CallbackAuth = &callbackAuthView{Username: a.Username, Password: a.Password}
	}
	return v
}

func apiClientViews(m map[string]*dsl.APIClient) map[string]any {
	out := make(map[string]any, len(m))
	for n, c := range m {
		out[n] = viewAPIClient(c)
	}
	return out
}

func sortedCopy(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

// apiClientWarnings finds the api_client changes that let more in: an
// api_client names a user and starts a journey for them with nothing but
// its secret, so who may call (allowed_ips), what it may start (journeys)
// and where results go (callback_urls, callback_auth) are what a review
// must see.
//
//   - allowed_ips widened: a network that no old entry covers, so more
//     hosts may try the secret;
//   - a journey added to a client, said louder when that journey reaches
//     success without MFA (the client alone then vouches for the user);
//   - a callback URL added: results (who logged in, and when) may go there;
//   - callback_auth removed: callbacks go without basic auth, so the
//     application can no longer tell authd's from a forgery;
//   - a secret made literal, or a new client's secret written literally.
//
// An added client shows as an added section; its literal secrets warn.
func (c *comparer) apiClientWarnings() {
	nm := newMFA(c.new)
	for _, name := range sortedKeys(c.new.APIClients) {
		o, n := c.old.APIClients[name], c.new.APIClients[name]
		subject := `api_client "` + name + `"`
		if o != nil {
			for _, w := range widenedNets(o.AllowedIPs, n.AllowedIPs) {
				c.warn(subject, "allowed_ips widened: %s added (more hosts may try the secret and start journeys)", w)
			}
			for _, j := range newEntries(o.Journeys, n.Journeys) {
				if p := nm.bypass(j); p != nil {
					c.warn(subject, "may now start journey %s, which reaches success without MFA", j)
				} else {
					c.warn(subject, "may now start journey %s", j)
				}
			}
			for _, u := range newEntries(o.CallbackURLs, n.CallbackURLs) {
				c.warn(subject, "callback URL added: %s (journey results may be sent there)", u)
			}
			if o.CallbackAuth != nil && n.CallbackAuth == nil && len(n.CallbackURLs) > 0 {
				c.warn(subject, "callback_auth removed: callbacks are sent without basic auth")
			}
		}
		c.apiClientSecrets(subject, o, n)
	}
}

// apiClientSecrets warns, like literalSecrets for the other blocks, for a
// secret written into the file that came from env() or file() before, or
// that is new.
func (c *comparer) apiClientSecrets(subject string, o, n *dsl.APIClient) {
	ns := flatten(viewAPIClient(n), c.new.Files).secrets
	var os map[string]dsl.Secret
	if o != nil {
		os = flatten(viewAPIClient(o), c.old.Files).secrets
	}
	for _, key := range sortedKeys(ns) {
		if ns[key].Source() != "literal" {
			continue
		}
		was, had := os[key]
		switch {
		case had && was.Source() != "literal":
			c.warn(subject, "secret made literal: %s came from %s(), now it is written in the file (and in Git)", key, was.Source())
		case !had:
			c.warn(subject, "literal secret: %s is written in the file (and in Git); use env() or file()", key)
		}
	}
}

// newEntries are the entries of b that a lacks, in b's order.
func newEntries(a, b []string) []string {
	var out []string
	for _, s := range b {
		if !slices.Contains(a, s) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// widenedNets are the networks of b that no network of a covers.
func widenedNets(a, b []*net.IPNet) []string {
	var out []string
	for _, n := range b {
		if !coveredBy(n, a) {
			out = append(out, n.String())
		}
	}
	return out
}

// coveredBy reports whether some network of nets holds all of n.
func coveredBy(n *net.IPNet, nets []*net.IPNet) bool {
	nb, nbits := n.Mask.Size()
	for _, o := range nets {
		ob, obits := o.Mask.Size()
		if obits == nbits && ob <= nb && o.Contains(n.IP) {
			return true
		}
	}
	return false
}
