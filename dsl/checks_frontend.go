package dsl

import (
	"fmt"
	"math"
	"reflect"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/authd/authd/engine"
)

// servedNode is a node a front end may run: in the served journey or in
// one it enters.
type servedNode struct {
	j *Journey
	n *Node
}

// reachNodes lists the nodes of j and of every journey it enters.
func (l *loader) reachNodes(j *Journey) []servedNode {
	var out []servedNode
	seen := map[*Journey]bool{}
	var walk func(j *Journey)
	walk = func(j *Journey) {
		if j == nil || seen[j] {
			return
		}
		seen[j] = true
		for _, n := range j.Nodes {
			out = append(out, servedNode{j, n})
		}
		for _, c := range j.calls {
			walk(l.cfg.Journeys[c.target])
		}
	}
	walk(j)
	return out
}

// checkFrontends checks what the front ends can carry: a journey served
// over RADIUS may not use nodes RADIUS cannot show, and a push wait longer
// than a RADIUS client's timeout gets a warning naming the client-side
// setting. It also checks that nodes needing a realm service (a push
// provider, an SMS gateway) have one.
func (l *loader) checkFrontends() hcl.Diagnostics {
	var diags hcl.Diagnostics
	type pair struct {
		n     *Node
		other string
	}
	reportedNotOver := map[pair]bool{}
	reportedWait := map[pair]bool{}
	for _, p := range l.cfg.RADIUSPolicies {
		j := l.cfg.Journeys[p.Journey]
		if j == nil {
			continue
		}
		clients := p.Clients
		if len(clients) == 0 {
			clients = sortedKeys(l.cfg.RADIUSClients)
		}
		for _, sn := range l.reachNodes(j) {
			n := sn.n
			if n.typ == nil {
				continue
			}
			for _, fe := range n.typ.NotOver {
				if fe != engine.FrontendRADIUS || reportedNotOver[pair{n, p.Name}] {
					continue
				}
				reportedNotOver[pair{n, p.Name}] = true
				via := ""
				if sn.j != j {
					via = fmt.Sprintf(" of journey %q, which it enters,", sn.j.Name)
				}
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Node not usable over RADIUS",
					Detail: fmt.Sprintf("radius_policy %q serves journey %q over RADIUS, which can show only a text prompt, but the node %q (%s)%s needs more than that. Serve this policy with a journey without it, or move the node to a journey used on the web.",
						p.Name, j.Name, n.Name, n.Type, via),
					Subject: n.typeRange.Ptr(),
				})
			}
			wait, ok := messageTimeout(n)
			if !ok {
				continue
			}
			if wait <= 0 {
				// "0" never expires: the session timeout bounds the wait.
				wait = sn.j.SessionTimeout
			}
			for _, cname := range clients {
				c := l.cfg.RADIUSClients[cname]
				if c == nil || wait <= c.Timeout || reportedWait[pair{n, cname}] {
					continue
				}
				reportedWait[pair{n, cname}] = true
				rng := n.DeclRange
				if r, ok := settingRange(n.body, "message_timeout"); ok {
					rng = r
				}
				secs := int64(math.Ceil(wait.Seconds())) + 10
				declared := "its declared timeout"
				if _, set := l.clientTO[cname]; !set {
					declared = "the default timeout, FortiGate's default remoteauthtimeout"
				}
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagWarning,
					Summary:  "Push wait longer than the RADIUS client's timeout",
					Detail: fmt.Sprintf("The node %q (%s) waits up to %s for the phone, but radius_client %q, served through radius_policy %q, gives up after %s (%s), so its logins would fail while the push is still pending. On a FortiGate raise the timeout with \"config system global / set remoteauthtimeout %d / end\", then declare timeout = \"%ds\" on radius_client %q.",
						n.Name, n.Type, messageDuration(wait), cname, p.Name, messageDuration(c.Timeout), declared, secs, secs, cname),
					Subject: rng.Ptr(),
				})
			}
		}
	}
	diags = append(diags, l.checkRealmServices()...)
	return diags
}

// messageTimeout reads a node's message_timeout setting (push_sender's
// wait for the phone) from its decoded settings: through the settings'
// Timeout() method when it has one, else from the field, whatever Go type
// the node type chose (a duration string, a time.Duration, or seconds).
func messageTimeout(n *Node) (time.Duration, bool) {
	v := reflect.ValueOf(n.Settings)
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return 0, false
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return 0, false
	}
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if name, _ := hclTag(f); name != "message_timeout" || !f.IsExported() {
			continue
		}
		// A Timeout method knows the type's default and parsing best.
		if tm, ok := n.Settings.(interface{ Timeout() time.Duration }); ok {
			var d time.Duration
			func() {
				defer func() { _ = recover() }()
				d = tm.Timeout()
			}()
			return d, true
		}
		fv := v.Field(i)
		for fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				return 0, false
			}
			fv = fv.Elem()
		}
		switch {
		case fv.Type() == reflect.TypeOf(time.Duration(0)):
			return time.Duration(fv.Int()), true
		case fv.Kind() == reflect.String:
			d, err := parseDuration(fv.String())
			return d, err == nil
		case fv.CanInt():
			return time.Duration(fv.Int()) * time.Second, true
		case fv.CanUint():
			return time.Duration(fv.Uint()) * time.Second, true
		case fv.CanFloat():
			return time.Duration(fv.Float() * float64(time.Second)), true
		}
	}
	return 0, false
}

// realmServices names the realm service a node type cannot work without.
// It is a lint on top of the registry: a type not listed here needs none.
var realmServices = map[string]string{
	"push_sender":       "push_providers",
	"push_registration": "push_providers",
	"sms_otp_sender":    "sms_gateway",
}

func (l *loader) checkRealmServices() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, j := range l.journeys {
		r := l.cfg.Realms[j.Realm]
		if r == nil || l.cfg.Journeys[j.Name] != j {
			continue
		}
		for _, n := range j.Nodes {
			need, ok := realmServices[n.Type]
			if !ok || n.typ == nil {
				continue
			}
			missing := (need == "push_providers" && len(r.PushProviders) == 0) || (need == "sms_gateway" && r.SMSGateway == "")
			if !missing {
				continue
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Realm lacks " + need,
				Detail:   fmt.Sprintf("The node %q (%s) of journey %q needs the realm's %s, but realm %q declares none. Add %s = ... to realm %q.", n.Name, n.Type, j.Name, need, r.Name, need, r.Name),
				Subject:  n.typeRange.Ptr(),
			})
		}
	}
	return diags
}
