package radius

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"layeh.com/radius"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/users"
)

func TestAcceptCarriesReplyAttributes(t *testing.T) {
	e := newEnv(t, nil)
	r := e.exchange(accessRequest("alice", pw("secret")))
	if r.Code != radius.CodeAccessAccept {
		t.Fatalf("got %v, want Access-Accept", r.Code)
	}
	if got := vendorAttrs(r, vendorFortinet, 1); strings.Join(got, ",") != "vpn,admins" {
		t.Errorf("Fortinet-Group-Name = %q, want one attribute per list element, in order", got)
	}
	if v, _ := r.Lookup(27); len(v) != 4 || binary.BigEndian.Uint32(v) != 3600 {
		t.Errorf("Session-Timeout = %x", v)
	}
	if v, _ := r.Lookup(25); string(v) != "checked" {
		t.Errorf("Class = %q, want the journey state's tag", v)
	}
	if v, _ := r.Lookup(11); string(v) != "none" {
		t.Errorf("Filter-Id = %q", v)
	}
	e.waitLog("radius: access accept")
}

func TestWrongPasswordAndUnknownUserLookAlike(t *testing.T) {
	e := newEnv(t, nil)
	var replies []*radius.Packet
	for _, u := range [][2]string{{"alice", "wrong"}, {"mallory", "secret"}, {"alice", ""}} {
		r := e.exchange(accessRequest(u[0], pw(u[1])))
		if r.Code != radius.CodeAccessReject {
			t.Fatalf("%s: got %v, want Access-Reject", u[0], r.Code)
		}
		replies = append(replies, r)
	}
	shape := func(p *radius.Packet) string {
		var b strings.Builder
		for _, a := range p.Attributes[1:] { // after Message-Authenticator
			fmt.Fprintf(&b, "%d=%s;", a.Type, a.Attribute)
		}
		return b.String()
	}
	for _, r := range replies[1:] {
		if shape(r) != shape(replies[0]) {
			t.Errorf("rejects differ: %q vs %q", shape(r), shape(replies[0]))
		}
	}
	if got := replyMessage(replies[0]); got != DefaultRejectMessage {
		t.Errorf("Reply-Message %q", got)
	}
}

func TestChallengeThenCode(t *testing.T) {
	e := newEnv(t, nil)
	r := e.exchange(accessRequest("alice", pw("secret"), nasID("mfa")))
	if r.Code != radius.CodeAccessChallenge {
		t.Fatalf("got %v, want Access-Challenge", r.Code)
	}
	state, _ := r.Lookup(attrState)
	if len(state) < 16 {
		t.Fatalf("State of %d bytes, want at least 16", len(state))
	}
	if msg := replyMessage(r); !strings.HasPrefix(msg, "+") {
		t.Errorf("Reply-Message %q does not begin with +", msg)
	}
	if got := vendorAttrs(r, vendorFortinet, fortinetChallengeCode); len(got) != 1 || got[0] != "001" {
		t.Errorf("Fortinet-FAC-Challenge-Code = %q, want 001", got)
	}
	r = e.exchange(accessRequest("alice", pw("123456"), nasID("mfa"), withState(state)))
	if r.Code != radius.CodeAccessAccept {
		t.Fatalf("code answer: got %v, want Access-Accept", r.Code)
	}
	// State is single-use.
	r = e.exchange(accessRequest("alice", pw("123456"), nasID("mfa"), withState(state)))
	if r.Code != radius.CodeAccessReject {
		t.Fatalf("reused State: got %v, want Access-Reject", r.Code)
	}
}

func TestWrongCodeRejects(t *testing.T) {
	e := newEnv(t, nil)
	r := e.exchange(accessRequest("alice", pw("secret"), nasID("mfa")))
	state, _ := r.Lookup(attrState)
	r = e.exchange(accessRequest("alice", pw("000000"), nasID("mfa"), withState(state)))
	if r.Code != radius.CodeAccessReject {
		t.Fatalf("got %v, want Access-Reject", r.Code)
	}
}

func TestStateIsBoundToUserAndClient(t *testing.T) {
	e := newEnv(t, nil)
	r := e.exchange(accessRequest("alice", pw("secret"), nasID("mfa")))
	state, _ := r.Lookup(attrState)
	if r := e.exchange(accessRequest("bob", pw("123456"), nasID("mfa"), withState(state))); r.Code != radius.CodeAccessReject {
		t.Fatalf("another user's State: got %v, want Access-Reject", r.Code)
	}
	if r := e.exchange(accessRequest("alice", pw("123456"), nasID("mfa"), withState([]byte("made-up-state-of-24-byte")))); r.Code != radius.CodeAccessReject {
		t.Fatalf("unknown State: got %v", r.Code)
	}
	// The refused attempts did not burn alice's State.
	if r := e.exchange(accessRequest("alice", pw("123456"), nasID("mfa"), withState(state))); r.Code != radius.CodeAccessAccept {
		t.Fatalf("alice after the foreign attempt: got %v, want Access-Accept", r.Code)
	}
}

// approveWhenWaiting approves (or denies) the next session that starts
// waiting and wakes it, as the push endpoint will.
func (e *env) answerWhenWaiting(answer string) {
	go func() {
		select {
		case id := <-e.pusher.waiting:
			time.Sleep(50 * time.Millisecond)
			e.answer(id, answer)
		case <-time.After(10 * time.Second):
		}
	}()
}

// answer records the device's answer and wakes the session, as the push
// endpoint does. It wakes again until the session ends, so a test does not
// depend on the wake landing after the hold began (one that lands before
// is caught by the wait's deadline, 30 s in these tests).
func (e *env) answer(id, answer string) {
	e.pusher.set(id, answer)
	for i := 0; i < 100; i++ {
		e.eng.Wake(id)
		if s, err := e.eng.Session(id); err != nil || s.Finished {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestBlankAnswerHoldsUntilWoken(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer *string
	}{{"no User-Password", nil}, {"empty User-Password", pw("")}, {"the word push", pw("push")}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			r := e.exchange(accessRequest("alice", pw("secret"), nasID("mfa")))
			state, _ := r.Lookup(attrState)
			e.answerWhenWaiting("approve")
			start := time.Now()
			r = e.exchange(accessRequest("alice", tc.answer, nasID("mfa"), withState(state)))
			if r.Code != radius.CodeAccessAccept {
				t.Fatalf("got %v, want Access-Accept", r.Code)
			}
			if d := time.Since(start); d > 10*time.Second { // the wait itself is 30 s
				t.Errorf("held for %v: the wake did not release the hold", d)
			}
			if e.srv.Held() != 0 {
				t.Errorf("%d requests still counted as held", e.srv.Held())
			}
		})
	}
}

func TestPushDeniedRejects(t *testing.T) {
	e := newEnv(t, nil)
	e.answerWhenWaiting("deny")
	if r := e.exchange(accessRequest("alice", pw("secret"), nasID("push"))); r.Code != radius.CodeAccessReject {
		t.Fatalf("got %v, want Access-Reject", r.Code)
	}
}

func TestHoldResumesAtTheWaitDeadline(t *testing.T) {
	e := newEnv(t, nil)
	e.pusher.configure(0, 1)
	go func() {
		id := <-e.pusher.waiting
		e.pusher.set(id, "approve") // no wake: the hold must look by itself
	}()
	r, err := e.try(accessRequest("alice", pw("secret"), nasID("push")), 10*time.Second)
	if err != nil || r.Code != radius.CodeAccessAccept {
		t.Fatalf("got %v %v, want Access-Accept after the wait's second", codeOf(r), err)
	}
}

func TestRetransmissionsJoinTheHeldRequest(t *testing.T) {
	e := newEnv(t, nil)
	b := sign(t, accessRequest("alice", pw("secret"), nasID("push")))
	conn, err := net.Dial("udp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := 0; i < 3; i++ {
		conn.Write(b)
		time.Sleep(30 * time.Millisecond)
	}
	var id string
	select {
	case id = <-e.pusher.waiting:
	case <-time.After(10 * time.Second):
		t.Fatal("the journey never started waiting")
	}
	conn.Write(b) // once more while held
	time.Sleep(50 * time.Millisecond)
	e.answer(id, "approve")

	buf := make([]byte, 4096)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	first := append([]byte(nil), buf[:n]...)
	if radius.Code(first[0]) != radius.CodeAccessAccept {
		t.Fatalf("got %v, want Access-Accept", radius.Code(first[0]))
	}
	conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := conn.Read(buf); err == nil {
		t.Fatal("a second reply was sent for the retransmissions")
	}
	select {
	case other := <-e.pusher.waiting:
		t.Fatalf("a second journey started (session %s)", other)
	default:
	}
	// After the answer, a retransmission gets the same bytes again.
	conn.Write(b)
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err = conn.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], first) {
		t.Fatalf("replayed reply differs (err %v)", err)
	}
}

func TestNewAuthenticatorIsANewRequest(t *testing.T) {
	e := newEnv(t, nil)
	p := accessRequest("alice", pw("wrong"))
	p.Identifier = 7
	r1 := e.exchange(p)
	q := accessRequest("alice", pw("secret"))
	q.Identifier = 7 // same identifier, new authenticator, same source port is not needed
	r2 := e.exchange(q)
	if r1.Code != radius.CodeAccessReject || r2.Code != radius.CodeAccessAccept {
		t.Fatalf("got %v then %v", r1.Code, r2.Code)
	}
}

func TestMessageAuthenticatorRequired(t *testing.T) {
	e := newEnv(t, nil)
	p := accessRequest("alice", pw("secret"))
	b, _ := p.Encode() // no Message-Authenticator
	if r := e.raw(b, 300*time.Millisecond); r != nil {
		t.Fatalf("answered a request without Message-Authenticator: code %d", r[0])
	}
	e.waitLog("missing Message-Authenticator")

	bad := sign(t, accessRequest("alice", pw("secret")))
	bad[len(bad)-1] ^= 1
	if r := e.raw(bad, 300*time.Millisecond); r != nil {
		t.Fatal("answered a request with a bad Message-Authenticator")
	}
	e.waitLog("bad Message-Authenticator")

	wrongSecret := accessRequest("alice", pw("secret"))
	wrongSecret.Secret = []byte("not-the-secret")
	if r := e.raw(sign(t, wrongSecret), 300*time.Millisecond); r != nil {
		t.Fatal("answered a request signed with another secret")
	}
}

func TestMessageAuthenticatorOptionalWhenAllowed(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Options) { c.Clients[0].AllowMissingMessageAuthenticator = true })
	b, _ := accessRequest("alice", pw("secret")).Encode()
	r := e.raw(b, 2*time.Second)
	if r == nil || radius.Code(r[0]) != radius.CodeAccessAccept {
		t.Fatal("no Access-Accept for an unsigned request from a client that allows it")
	}
	if radius.Type(r[headerLen]) != attrMessageAuthenticator {
		t.Error("the reply's first attribute is not Message-Authenticator")
	}
	// limit_proxy_state: Proxy-State without Message-Authenticator is dropped.
	ps := accessRequest("alice", pw("secret"), func(p *radius.Packet) { p.Add(attrProxyState, radius.Attribute("x")) })
	b, _ = ps.Encode()
	if r := e.raw(b, 300*time.Millisecond); r != nil {
		t.Fatal("answered Proxy-State without Message-Authenticator")
	}
	e.waitLog("Proxy-State without Message-Authenticator")
}

func TestProxyStateCopiedInOrder(t *testing.T) {
	e := newEnv(t, nil)
	p := accessRequest("alice", pw("secret"), func(p *radius.Packet) {
		for _, s := range []string{"one", "two", "three"} {
			p.Add(attrProxyState, radius.Attribute(s))
		}
	})
	r := e.exchange(p)
	var got []string
	for i, a := range r.Attributes {
		if a.Type == attrProxyState {
			if i > 3 {
				t.Errorf("Proxy-State at position %d, want right after Message-Authenticator", i)
			}
			got = append(got, string(a.Attribute))
		}
	}
	if strings.Join(got, ",") != "one,two,three" {
		t.Fatalf("Proxy-State %q, want one,two,three", got)
	}
}

func TestUnknownClientDropped(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Options) {
		c.Clients = []Client{{Name: "far", Network: netip.MustParsePrefix("10.0.0.0/8"), Secret: []byte(testSecret)}}
		for i := range c.Policies {
			c.Policies[i].Clients = nil
		}
	})
	if r := e.raw(sign(t, accessRequest("alice", pw("secret"))), 300*time.Millisecond); r != nil {
		t.Fatal("answered an unknown client")
	}
	e.waitLog("unknown client")
}

func TestMostSpecificClientWins(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Options) {
		c.Clients = append([]Client{
			{Name: "loopback", Network: netip.MustParsePrefix("127.0.0.0/8"), Secret: []byte("other")},
			{Name: "all", Network: netip.MustParsePrefix("0.0.0.0/0"), Secret: []byte("other2")},
		}, c.Clients...)
	})
	if r := e.exchange(accessRequest("alice", pw("secret"))); r.Code != radius.CodeAccessAccept {
		t.Fatalf("got %v", r.Code)
	}
}

func TestPolicyClientsAndNoMatch(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Options) {
		c.Policies = []Policy{{Name: "elsewhere", Clients: []string{"local6"}, Realm: "corp", Journey: "pap"}}
	})
	if r := e.exchange(accessRequest("alice", pw("secret"))); r.Code != radius.CodeAccessReject {
		t.Fatalf("got %v, want Access-Reject when no policy serves the client", r.Code)
	}
	e.waitLog("no radius_policy matches")
}

func TestStatusServer(t *testing.T) {
	e := newEnv(t, nil)
	p := radius.New(radius.CodeStatusServer, []byte(testSecret))
	r := e.exchange(p)
	if r.Code != radius.CodeAccessAccept {
		t.Fatalf("got %v, want Access-Accept", r.Code)
	}
	// Without Message-Authenticator, RFC 5997 says drop.
	b, _ := radius.New(radius.CodeStatusServer, []byte(testSecret)).Encode()
	if e.raw(b, 300*time.Millisecond) != nil {
		t.Fatal("answered Status-Server without Message-Authenticator")
	}
}

func TestAccounting(t *testing.T) {
	e, log := auditEnv(t, nil)
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.srv.ServeAccounting(conn)
	p := radius.New(radius.CodeAccountingRequest, []byte(testSecret))
	p.Add(attrUserName, radius.Attribute("alice"))
	p.Add(attrAcctStatusType, radius.NewInteger(1))
	p.Add(attrAcctSessionID, radius.Attribute("s-1"))
	p.Add(attrProxyState, radius.Attribute("ps"))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	r, err := (&radius.Client{}).Exchange(ctx, p, conn.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	if r.Code != radius.CodeAccountingResponse {
		t.Fatalf("got %v", r.Code)
	}
	if v, _ := r.Lookup(attrProxyState); string(v) != "ps" {
		t.Errorf("Proxy-State not copied: %q", v)
	}
	e.waitLog("radius: accounting")
	if !strings.Contains(e.logs.String(), "status=Start") {
		t.Errorf("accounting line lacks the status:\n%s", e.logs.String())
	}
	// The same packet again (a retransmission) is answered from the reply
	// cache and recorded once.
	raw, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	nas, err := net.Dial("udp", conn.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nas.Close()
	for i := range 2 {
		if _, err := nas.Write(raw); err != nil {
			t.Fatal(err)
		}
		_ = nas.SetReadDeadline(time.Now().Add(3 * time.Second))
		buf := make([]byte, 4096)
		n, err := nas.Read(buf)
		if err != nil || n < 1 || radius.Code(buf[0]) != radius.CodeAccountingResponse {
			t.Fatalf("send %d: %d bytes, %v", i, n, err)
		}
	}
	acct, err := log.Query(audit.Query{Kind: audit.KindAccounting})
	if err != nil {
		t.Fatal(err)
	}
	if len(acct.Entries) != 2 {
		t.Fatalf("%d accounting audit entries, want 2 (the first request, then one for the retransmitted second): %+v", len(acct.Entries), acct.Entries)
	}
	if got := acct.Entries[0]; got.User != "alice" || got.Reason != "accounting Start" || got.Client != "127.0.0.1" ||
		got.Detail["acct_session_id"] != "s-1" || got.Detail["radius_client"] != "local" || got.Frontend != engine.FrontendRADIUS {
		t.Errorf("accounting audit entry %+v", got)
	}
	// An Access-Request on the accounting port is not answered.
	if r := func() []byte {
		c, _ := net.Dial("udp", conn.LocalAddr().String())
		defer c.Close()
		c.Write(sign(t, accessRequest("alice", pw("secret"))))
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		buf := make([]byte, 4096)
		n, err := c.Read(buf)
		if err != nil {
			return nil
		}
		return buf[:n]
	}(); r != nil {
		t.Fatal("the accounting port answered an Access-Request")
	}
}

func TestNumberMatching(t *testing.T) {
	e := newEnv(t, nil)
	e.pusher.configure(42, 30)
	r := e.exchange(accessRequest("alice", pw("secret"), nasID("push")))
	if r.Code != radius.CodeAccessChallenge {
		t.Fatalf("got %v, want an Access-Challenge showing the number", r.Code)
	}
	if msg := replyMessage(r); !strings.Contains(msg, "42") {
		t.Fatalf("Reply-Message %q does not show the number", msg)
	}
	if len(vendorAttrs(r, vendorFortinet, fortinetChallengeCode)) != 0 {
		t.Error("the number challenge must not offer a code")
	}
	id := <-e.pusher.waiting
	state, _ := r.Lookup(attrState)
	go func() {
		time.Sleep(100 * time.Millisecond)
		e.answer(id, "approve")
	}()
	r = e.exchange(accessRequest("alice", pw(""), nasID("push"), withState(state)))
	if r.Code != radius.CodeAccessAccept {
		t.Fatalf("got %v, want Access-Accept", r.Code)
	}
}

func TestNumberMatchingApprovedBeforeTheAnswer(t *testing.T) {
	e := newEnv(t, nil)
	e.pusher.configure(7, 30)
	r := e.exchange(accessRequest("alice", pw("secret"), nasID("push")))
	id := <-e.pusher.waiting
	e.pusher.set(id, "approve") // approved on the phone while the VPN client shows the number
	state, _ := r.Lookup(attrState)
	start := time.Now()
	r = e.exchange(accessRequest("alice", nil, nasID("push"), withState(state)))
	if r.Code != radius.CodeAccessAccept || time.Since(start) > 10*time.Second { // not the 30 s wait
		t.Fatalf("got %v after %v, want an immediate Access-Accept", r.Code, time.Since(start))
	}
}

func TestNumberMatchingExit(t *testing.T) {
	e := newEnv(t, nil)
	e.pusher.configure(7, 30)
	r := e.exchange(accessRequest("alice", pw("secret"), nasID("push")))
	state, _ := r.Lookup(attrState)
	r = e.exchange(accessRequest("alice", pw("exit"), nasID("push"), withState(state)))
	if r.Code != radius.CodeAccessReject {
		t.Fatalf("got %v, want Access-Reject", r.Code)
	}
}

func TestChoiceAndReChallenge(t *testing.T) {
	e := newEnv(t, nil)
	r := e.exchange(accessRequest("alice", pw("secret"), nasID("pick")))
	if r.Code != radius.CodeAccessChallenge || !strings.Contains(replyMessage(r), "1) red, 2) blue") {
		t.Fatalf("got %v %q", r.Code, replyMessage(r))
	}
	state, _ := r.Lookup(attrState)
	r = e.exchange(accessRequest("alice", pw("purple"), nasID("pick"), withState(state)))
	if r.Code != radius.CodeAccessChallenge {
		t.Fatalf("a bad choice: got %v, want the question again", r.Code)
	}
	state2, _ := r.Lookup(attrState)
	if bytes.Equal(state, state2) {
		t.Fatal("the re-challenge reused the State")
	}
	if r := e.exchange(accessRequest("alice", pw("1"), nasID("pick"), withState(state))); r.Code != radius.CodeAccessReject {
		t.Fatalf("the old State still works: %v", r.Code)
	}
	if r := e.exchange(accessRequest("alice", pw("1"), nasID("pick"), withState(state2))); r.Code != radius.CodeAccessAccept {
		t.Fatalf("choice 1 (red): got %v", r.Code)
	}
}

func TestQRCodeRejected(t *testing.T) {
	e := newEnv(t, nil)
	if r := e.exchange(accessRequest("alice", pw("secret"), nasID("qr"))); r.Code != radius.CodeAccessReject {
		t.Fatalf("got %v", r.Code)
	}
	e.waitLog("QR code")
}

func TestAppendedFactor(t *testing.T) {
	e := newEnv(t, nil)
	if r := e.exchange(accessRequest("alice", pw("secret,123456"), nasID("duo"))); r.Code != radius.CodeAccessAccept {
		t.Fatalf("password,code: got %v", r.Code)
	}
	e.answerWhenWaiting("approve")
	if r := e.exchange(accessRequest("alice", pw("secret,push"), nasID("duo"))); r.Code != radius.CodeAccessAccept {
		t.Fatalf("password,push: got %v", r.Code)
	}
	if r := e.exchange(accessRequest("alice", pw("secret"), nasID("duo"))); r.Code != radius.CodeAccessChallenge {
		t.Fatalf("password alone: got %v, want the challenge", r.Code)
	}
}

func TestHoldCapPerUser(t *testing.T) {
	e := newEnv(t, func(_ *Config, o *Options) { o.Limits.MaxHeldPerUser = 1 })
	held := make(chan *radius.Packet, 1)
	go func() {
		r, _ := e.try(accessRequest("alice", pw("secret"), nasID("push")), 15*time.Second)
		held <- r
	}()
	id := <-e.pusher.waiting
	e.waitHeld(1)
	if r := e.exchange(accessRequest("alice", pw("secret"), nasID("push"))); r.Code != radius.CodeAccessReject {
		t.Fatalf("second hold for alice: got %v, want Access-Reject", r.Code)
	}
	e.waitLog("too many held requests")
	e.answer(id, "approve")
	if r := <-held; r == nil || r.Code != radius.CodeAccessAccept {
		t.Fatalf("first hold: got %v", codeOf(r))
	}
}

func TestShutdownRejectsHeldRequests(t *testing.T) {
	e := newEnv(t, nil)
	got := make(chan *radius.Packet, 1)
	go func() {
		r, _ := e.try(accessRequest("alice", pw("secret"), nasID("push")), 5*time.Second)
		got <- r
	}()
	<-e.pusher.waiting
	e.waitHeld(1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r == nil || r.Code != radius.CodeAccessReject {
		t.Fatalf("held request at shutdown: got %v, want Access-Reject", codeOf(r))
	}
}

func TestIPv6(t *testing.T) {
	conn, err := net.ListenPacket("udp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	e := newEnv(t, nil)
	go e.srv.Serve(conn)
	e.addr = conn.LocalAddr().String()
	if r := e.exchange(accessRequest("alice", pw("secret"))); r.Code != radius.CodeAccessAccept {
		t.Fatalf("got %v", r.Code)
	}
}

func TestMalformedPacketsDropped(t *testing.T) {
	e := newEnv(t, nil)
	good := sign(t, accessRequest("alice", pw("secret")))
	cases := map[string][]byte{
		"short":             good[:10],
		"length too big":    func() []byte { b := bytes.Clone(good); binary.BigEndian.PutUint16(b[2:], 4000); return b }(),
		"attribute overrun": func() []byte { b := bytes.Clone(good); b[headerLen+1] = 250; return b }(),
		"zero-length attr":  func() []byte { b := bytes.Clone(good); b[headerLen+1] = 0; return b }(),
		"bad code":          func() []byte { b := bytes.Clone(good); b[0] = 99; return b }(),
	}
	for name, b := range cases {
		if r := e.raw(b, 200*time.Millisecond); r != nil {
			t.Errorf("%s: answered", name)
		}
	}
	// The server still works.
	if r := e.exchange(accessRequest("alice", pw("secret"))); r.Code != radius.CodeAccessAccept {
		t.Fatalf("got %v", r.Code)
	}
}

func TestReplyAttributesFromTheUser(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Options) {
		c.Policies = []Policy{{Name: "groups", Realm: "corp", Journey: "pap", ReplyAttributes: expr(t, `{
			"Fortinet-Group-Name" = user.groups
			"Reply-Message"       = "hello ${user.name}"
		}`)}}
	})
	err := e.eng.Services().Users.Create(&users.User{Realm: "corp", Name: "alice", Groups: []string{"vpn-users", "ops"}})
	if err != nil {
		t.Skip("users repository not available yet:", err)
	}
	r := e.exchange(accessRequest("alice", pw("secret")))
	if r.Code != radius.CodeAccessAccept {
		t.Fatalf("got %v", r.Code)
	}
	if got := vendorAttrs(r, vendorFortinet, 1); strings.Join(got, ",") != "vpn-users,ops" {
		t.Errorf("Fortinet-Group-Name %q", got)
	}
	if got := replyMessage(r); got != "hello alice" {
		t.Errorf("Reply-Message %q", got)
	}
}

func TestBadReplyAttributesReject(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Options) {
		c.Policies = []Policy{{Name: "broken", Realm: "corp", Journey: "pap", ReplyAttributes: expr(t, `{ "Session-Timeout" = "soon" }`)}}
	})
	if r := e.exchange(accessRequest("alice", pw("secret"))); r.Code != radius.CodeAccessReject {
		t.Fatalf("got %v, want Access-Reject when reply_attributes cannot be encoded", r.Code)
	}
	e.waitLog("reply_attributes failed")
}

func TestNewRejectsBadConfig(t *testing.T) {
	eng := engine.New(engine.Options{KV: newMemKV()})
	for name, cfg := range map[string]*Config{
		"empty secret": {Clients: []Client{{Name: "a", Network: netip.MustParsePrefix("127.0.0.1/32")}}},
		"same network": {Clients: []Client{
			{Name: "a", Network: netip.MustParsePrefix("10.0.0.0/8"), Secret: []byte("x")},
			{Name: "b", Network: netip.MustParsePrefix("10.1.0.0/8"), Secret: []byte("y")},
		}},
		"unknown client in policy": {Policies: []Policy{{Name: "p", Realm: "r", Journey: "j", Clients: []string{"nope"}}}},
	} {
		if _, err := New(cfg, Options{Engine: eng}); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

func TestPasswordAskedAfterAChallengeIsChallenged(t *testing.T) {
	e := newEnv(t, nil)
	r := e.exchange(accessRequest("alice", pw("secret"), nasID("again")))
	state, _ := r.Lookup(attrState)
	r = e.exchange(accessRequest("alice", pw("123456"), nasID("again"), withState(state)))
	if r.Code != radius.CodeAccessChallenge || replyMessage(r) != "Second password" {
		t.Fatalf("got %v %q: the code must not be taken as the next password", r.Code, replyMessage(r))
	}
	state, _ = r.Lookup(attrState)
	if r := e.exchange(accessRequest("alice", pw("second"), nasID("again"), withState(state))); r.Code != radius.CodeAccessAccept {
		t.Fatalf("got %v", r.Code)
	}
}
