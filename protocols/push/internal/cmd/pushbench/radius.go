package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/authd/authd/protocols/push/authenticator"
	authdradius "github.com/authd/authd/protocols/radius"
)

// authd lets one NAS hold at most 1,000 requests (radius.Limits), so the
// RADIUS logins come from ten NAS addresses on loopback, as ten VPN
// gateways would.
const (
	radiusNASes      = 10
	radiusHeldPerNAS = 1000
	radiusSecretEnv  = "PUSHBENCH_RADIUS_SECRET"
	radiusSecret     = "pushbench-radius-secret"
)

// nasAddr is the loopback address NAS i sends from.
func nasAddr(i int) string { return fmt.Sprintf("127.0.0.%d", 11+i%radiusNASes) }

// radiusConfig is what -frontend radius adds to authd's configuration:
// the listener, the NASes, and a journey like the API's with a tap push
// (a number to pick would be an Access-Challenge first, which measures
// the NAS, not the hold).
func radiusConfig(listen string) (serverBlock, hcl string) {
	serverBlock = fmt.Sprintf("\n  radius {\n    listen = %q\n  }", listen)
	var b strings.Builder
	var names []string
	for i := 0; i < radiusNASes; i++ {
		name := fmt.Sprintf("nas%d", i)
		names = append(names, "radius_client."+name)
		fmt.Fprintf(&b, "radius_client %q {\n  address = %q\n  secret  = env(%q)\n  timeout = \"60s\"\n}\n", name, nasAddr(i), radiusSecretEnv)
	}
	fmt.Fprintf(&b, `radius_policy "vpn" {
  clients = [%s]
  realm   = realm.corp
  journey = journey.vpn
}
`, strings.Join(names, ", "))
	b.WriteString(pushJourney("vpn", "tap"))
	return serverBlock, b.String()
}

// holdRADIUS sends one Access-Request per account, openRate a second (0:
// all at once), each from its NAS's address and signed with a
// Message-Authenticator; authd starts the journey, sends the push and
// holds the request until the push is answered. It waits until every
// push was sent, then reads authd's RSS heldRead after the first request.
// Each login's ended hears the reply; its outcome is "success" for an
// Access-Accept.
func holdRADIUS(addr string, accounts []*authenticator.Account, pid int, base string, openRate int, heldRead time.Duration, holding *sync.WaitGroup) ([]*login, float64, error) {
	n := len(accounts)
	sent0, err := pushesSent(base)
	if err != nil {
		return nil, 0, err
	}
	logins := make([]*login, n)
	var tick <-chan time.Time
	if openRate > 0 {
		t := time.NewTicker(time.Second / time.Duration(openRate))
		defer t.Stop()
		tick = t.C
	}
	var inFlight atomic.Int64
	opening := time.Now()
	for i, a := range accounts {
		if tick != nil {
			<-tick
		}
		l := &login{user: a.User, ended: make(chan time.Time, 1)}
		logins[i] = l
		holding.Add(1)
		inFlight.Add(1)
		go func() {
			defer holding.Done()
			defer inFlight.Add(-1)
			code, err := accessRequest(addr, nasAddr(i), a.User)
			at := time.Now()
			switch {
			case err != nil:
				l.outcome.Store("error: " + err.Error())
			case code == radius.CodeAccessAccept:
				l.outcome.Store("success")
			default:
				l.outcome.Store(code.String())
			}
			l.ended <- at
		}()
	}
	opened := time.Since(opening)
	// Held once every push is out (the journey sent it and suspended).
	deadline := time.Now().Add(2 * time.Minute)
	for {
		sent, err := pushesSent(base)
		if err != nil {
			return nil, 0, err
		}
		if int(sent-sent0) >= n {
			break
		}
		if time.Now().After(deadline) {
			return nil, 0, fmt.Errorf("only %d of %d pushes sent after 2 minutes (%d requests waiting)", int(sent-sent0), n, inFlight.Load())
		}
		time.Sleep(100 * time.Millisecond)
	}
	ready := time.Since(opening)
	rssNow, hwm := rssOf(pid)
	fmt.Printf("  %d Access-Requests sent in %v, all %d pushes out %v after the first; authd RSS %.1f MB (peak so far %.1f MB); %s\n",
		n, opened.Round(time.Millisecond), n, ready.Round(time.Millisecond), rssNow, hwm, goMemory(base))
	time.Sleep(max(time.Second, heldRead-time.Since(opening)))
	rssHeld, _ := rssOf(pid)
	fmt.Printf("  %d Access-Requests held; authd RSS %.1f MB, %v after the first was sent (%s); %s\n",
		inFlight.Load(), rssHeld, time.Since(opening).Round(time.Second), rssSplit(pid), goMemory(base))
	return logins, rssHeld, nil
}

// accessRequest sends one Access-Request for user from the address nas and
// waits for the reply, retransmitting every 3 s as a NAS does: authd drops
// what it cannot take at once (MaxInflight), and answers a request only
// once, whatever the retransmissions.
func accessRequest(server, nas, user string) (radius.Code, error) {
	p := radius.New(radius.CodeAccessRequest, []byte(radiusSecret))
	if err := rfc2865.UserName_SetString(p, user); err != nil {
		return 0, err
	}
	b, err := authdradius.SignRequest(p)
	if err != nil {
		return 0, err
	}
	q, err := radius.Parse(b, p.Secret)
	if err != nil {
		return 0, err
	}
	c := &radius.Client{Dialer: net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(nas)}}, Retry: 3 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	r, err := c.Exchange(ctx, q, server)
	if err != nil {
		return 0, err
	}
	return r.Code, nil
}

// pushesSent is how many pushes authd has sent since it started.
func pushesSent(base string) (float64, error) {
	v, err := goMetrics(base)
	if err != nil {
		return 0, err
	}
	total := 0.0
	for k, x := range v {
		if strings.HasPrefix(k, "authd_push_send_duration_seconds_count") {
			total += x
		}
	}
	return total, nil
}
