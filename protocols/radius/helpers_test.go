package radius

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"layeh.com/radius"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/logtest"
	"github.com/authd/authd/engine/store"
)

// memKV is a minimal in-memory store.KV, so these tests depend on nothing
// but the engine's contracts.
type memKV struct {
	mu  sync.Mutex
	b   map[string]map[string][]byte
	seq map[string]uint64
	// faulty makes every transaction panic, as a store bug or a fault on
	// bbolt's memory map would.
	faulty atomic.Bool
}

func (k *memKV) fault() {
	if k.faulty.Load() {
		panic("memKV: fault")
	}
}

func newMemKV() *memKV { return &memKV{b: map[string]map[string][]byte{}, seq: map[string]uint64{}} }

type memTx struct {
	kv     *memKV
	ro     bool
	writes map[string]map[string][]byte // nil value: delete
}

func (k *memKV) View(fn func(store.Tx) error) error {
	k.fault()
	k.mu.Lock()
	defer k.mu.Unlock()
	return fn(&memTx{kv: k, ro: true})
}

func (k *memKV) Update(fn func(store.Tx) error) error {
	k.fault()
	k.mu.Lock()
	defer k.mu.Unlock()
	tx := &memTx{kv: k, writes: map[string]map[string][]byte{}}
	if err := fn(tx); err != nil {
		return err
	}
	for b, m := range tx.writes {
		if k.b[b] == nil {
			k.b[b] = map[string][]byte{}
		}
		for key, v := range m {
			if v == nil {
				delete(k.b[b], key)
			} else {
				k.b[b][key] = v
			}
		}
	}
	return nil
}

func (k *memKV) Batch(fn func(store.Tx) error) error { return k.Update(fn) }
func (k *memKV) Close() error                        { return nil }

func (t *memTx) Get(bucket string, key []byte) []byte {
	if m, ok := t.writes[bucket]; ok {
		if v, ok := m[string(key)]; ok {
			return v
		}
	}
	return t.kv.b[bucket][string(key)]
}

func (t *memTx) Put(bucket string, key, value []byte) error {
	if t.ro {
		return store.ErrReadOnly
	}
	if t.writes[bucket] == nil {
		t.writes[bucket] = map[string][]byte{}
	}
	t.writes[bucket][string(key)] = append([]byte{}, value...)
	return nil
}

func (t *memTx) Delete(bucket string, key []byte) error {
	if t.ro {
		return store.ErrReadOnly
	}
	if t.writes[bucket] == nil {
		t.writes[bucket] = map[string][]byte{}
	}
	t.writes[bucket][string(key)] = nil
	return nil
}

func (t *memTx) ForEach(bucket string, prefix []byte, fn func(k, v []byte) error) error {
	keys := map[string]bool{}
	for k := range t.kv.b[bucket] {
		keys[k] = true
	}
	for k := range t.writes[bucket] {
		keys[k] = true
	}
	var sorted []string
	for k := range keys {
		if strings.HasPrefix(k, string(prefix)) {
			sorted = append(sorted, k)
		}
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		v := t.Get(bucket, []byte(k))
		if v == nil {
			continue
		}
		if err := fn([]byte(k), v); err != nil {
			if errors.Is(err, store.ErrStop) {
				return nil
			}
			return err
		}
	}
	return nil
}

func (t *memTx) NextSequence(bucket string) (uint64, error) {
	t.kv.seq[bucket]++
	return t.kv.seq[bucket], nil
}

// funcNode adapts a function to engine.Node.
type funcNode func(ctx context.Context, nc *engine.Context) (engine.Result, error)

func (f funcNode) Process(ctx context.Context, nc *engine.Context) (engine.Result, error) {
	return f(ctx, nc)
}

// credsNode takes PAP credentials from the request, or asks for them.
var credsNode = funcNode(func(_ context.Context, nc *engine.Context) (engine.Result, error) {
	if !nc.Resumed() {
		if cr := nc.Request.Credentials; cr != nil && cr.Username != "" {
			nc.SetUser(cr.Username)
			nc.SetTransient("pw", cr.Password)
			return engine.Next("next"), nil
		}
		return engine.Ask(engine.Callback{Type: engine.CallbackName, ID: "username"}, engine.Callback{Type: engine.CallbackPassword, ID: "password"}), nil
	}
	u, _ := nc.Answer("username")
	p, _ := nc.Answer("password")
	nc.SetUser(u)
	nc.SetTransient("pw", p)
	return engine.Next("next"), nil
})

// checkNode accepts alice with "secret"; everyone else fails the same way.
var checkNode = funcNode(func(_ context.Context, nc *engine.Context) (engine.Result, error) {
	if nc.UserName() == "alice" && nc.Transient("pw") == "secret" {
		nc.SetState("tag", cty.StringVal("checked"))
		return engine.Next("success"), nil
	}
	return engine.Next("failure"), nil
})

// otpNode asks a code; "123456" is right, blank or "push" means push.
var otpNode = funcNode(func(_ context.Context, nc *engine.Context) (engine.Result, error) {
	if !nc.Resumed() {
		return engine.Ask(engine.Callback{Type: engine.CallbackCode, ID: "code", Prompt: "+Enter the token code, or submit a blank response for a push."}), nil
	}
	v, _ := nc.Answer("code")
	switch strings.TrimSpace(v) {
	case "", "push":
		return engine.Next("push"), nil
	case "123456":
		return engine.Next("ok"), nil
	}
	return engine.Next("bad"), nil
})

// askPassword asks a password (as the password node does); "second" is
// right.
var askPassword = funcNode(func(_ context.Context, nc *engine.Context) (engine.Result, error) {
	if !nc.Resumed() {
		return engine.Ask(engine.Callback{Type: engine.CallbackPassword, ID: "password", Prompt: "Second password"}), nil
	}
	if v, _ := nc.Answer("password"); v == "second" {
		return engine.Next("right"), nil
	}
	return engine.Next("wrong"), nil
})

// choiceNode asks red or blue.
var choiceNode = funcNode(func(_ context.Context, nc *engine.Context) (engine.Result, error) {
	if !nc.Resumed() {
		return engine.Ask(engine.Callback{Type: engine.CallbackChoice, ID: "choice", Prompt: "Colour", Options: []string{"red", "blue"}}), nil
	}
	v, _ := nc.Answer("choice")
	return engine.Next(engine.Outcome(v)), nil
})

// pusher stands in for push_sender + push_wait + push_result_verifier: it
// waits (a wait callback, and the number to pick when number is set) until
// the test approves or denies the session and wakes it.
type pusher struct {
	mu      sync.Mutex
	answer  map[string]string // session -> "approve" | "deny"
	waiting chan string       // session ids, once per first suspension
	number  int
	seconds int
	resumes int
}

func newPusher() *pusher {
	return &pusher{answer: map[string]string{}, waiting: make(chan string, 16), seconds: 30}
}

func (p *pusher) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id := nc.Session.ID
	if nc.Resumed() {
		p.resumes++
		if v, _ := nc.Answer("wait"); v == "exit" {
			return engine.Next("deny"), nil
		}
		switch p.answer[id] {
		case "approve":
			return engine.Next("approve"), nil
		case "deny":
			return engine.Next("deny"), nil
		}
	} else {
		select {
		case p.waiting <- id:
		default:
		}
	}
	cbs := []engine.Callback{{Type: engine.CallbackWait, ID: "wait", Seconds: p.seconds, Exit: true}}
	if p.number > 0 {
		cbs = append(cbs, engine.Callback{Type: engine.CallbackText, ID: "number", ChallengeNumber: p.number})
	}
	return engine.Ask(cbs...), nil
}

func (p *pusher) configure(number, seconds int) {
	p.mu.Lock()
	p.number, p.seconds = number, seconds
	p.mu.Unlock()
}

func (p *pusher) set(id, answer string) {
	p.mu.Lock()
	p.answer[id] = answer
	p.mu.Unlock()
}

func cnode(name string, n engine.Node, edges map[engine.Outcome]string) *engine.CompiledNode {
	return &engine.CompiledNode{Name: name, Type: "test", Node: n, Edges: edges}
}

func testJourney(name string, start string, nodes ...*engine.CompiledNode) *engine.Journey {
	j := &engine.Journey{Name: name, Realm: "corp", Start: start, Revision: name + "-r1", Nodes: map[string]*engine.CompiledNode{}, StateKeys: []string{"tag"}}
	for _, n := range nodes {
		j.Nodes[n.Name] = n
	}
	return j
}

// testProgram holds the journeys the tests use:
//
//	pap:   creds -> check -> success | failure
//	mfa:   creds -> check -> otp -> ok: success, push: push, bad: failure
//	push:  creds -> check -> push -> approve: success, deny: failure
//	pick:  creds -> check -> choice -> red: success, blue: failure
//	qr:    creds -> shows a QR code
func testProgram(p *pusher) *engine.Program {
	qr := funcNode(func(context.Context, *engine.Context) (engine.Result, error) {
		return engine.Ask(engine.Callback{Type: engine.CallbackQR, ID: "qr", URI: "otpauth://x"}), nil
	})
	prog := &engine.Program{Revision: "r1", Realms: map[string]*engine.Realm{"corp": {Name: "corp"}}, Journeys: map[string]*engine.Journey{}}
	for _, j := range []*engine.Journey{
		testJourney("pap", "creds",
			cnode("creds", credsNode, map[engine.Outcome]string{"next": "check"}),
			cnode("check", checkNode, map[engine.Outcome]string{"success": "success", "failure": "failure"})),
		testJourney("mfa", "creds",
			cnode("creds", credsNode, map[engine.Outcome]string{"next": "check"}),
			cnode("check", checkNode, map[engine.Outcome]string{"success": "otp", "failure": "failure"}),
			cnode("otp", otpNode, map[engine.Outcome]string{"ok": "success", "push": "push", "bad": "failure"}),
			cnode("push", p, map[engine.Outcome]string{"approve": "success", "deny": "failure"})),
		testJourney("push", "creds",
			cnode("creds", credsNode, map[engine.Outcome]string{"next": "check"}),
			cnode("check", checkNode, map[engine.Outcome]string{"success": "push", "failure": "failure"}),
			cnode("push", p, map[engine.Outcome]string{"approve": "success", "deny": "failure"})),
		testJourney("pick", "creds",
			cnode("creds", credsNode, map[engine.Outcome]string{"next": "check"}),
			cnode("check", checkNode, map[engine.Outcome]string{"success": "choice", "failure": "failure"}),
			cnode("choice", choiceNode, map[engine.Outcome]string{"red": "success", "blue": "failure"})),
		testJourney("again", "creds",
			cnode("creds", credsNode, map[engine.Outcome]string{"next": "check"}),
			cnode("check", checkNode, map[engine.Outcome]string{"success": "otp", "failure": "failure"}),
			cnode("otp", otpNode, map[engine.Outcome]string{"ok": "askpw", "push": "failure", "bad": "failure"}),
			cnode("askpw", askPassword, map[engine.Outcome]string{"right": "success", "wrong": "failure"})),
		testJourney("qr", "creds",
			cnode("creds", credsNode, map[engine.Outcome]string{"next": "show"}),
			cnode("show", qr, map[engine.Outcome]string{"next": "success"})),
	} {
		prog.Journeys[j.Name] = j
	}
	return prog
}

const testSecret = "testing123"

type env struct {
	t      *testing.T
	eng    *engine.Engine
	srv    *Server
	addr   string
	pusher *pusher
	logs   *logtest.Buffer
	kv     *memKV
}

func expr(t testing.TB, src string) hcl.Expression {
	t.Helper()
	e, diags := hclsyntax.ParseExpression([]byte(src), "test.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return e
}

// baseConfig: client "local" (127.0.0.1 and ::1) and one policy per test
// journey, chosen by NAS-Identifier (default: pap).
func baseConfig(t testing.TB) *Config {
	return &Config{
		Clients: []Client{
			{Name: "local", Network: netip.MustParsePrefix("127.0.0.1/32"), Secret: []byte(testSecret)},
			{Name: "local6", Network: netip.MustParsePrefix("::1/128"), Secret: []byte(testSecret)},
		},
		Policies: []Policy{
			{Name: "mfa", Realm: "corp", Journey: "mfa", When: expr(t, `request.radius.nas_identifier == "mfa"`)},
			{Name: "push", Realm: "corp", Journey: "push", When: expr(t, `request.radius.nas_identifier == "push"`)},
			{Name: "pick", Realm: "corp", Journey: "pick", When: expr(t, `request.radius.nas_identifier == "pick"`)},
			{Name: "qr", Realm: "corp", Journey: "qr", When: expr(t, `request.radius.nas_identifier == "qr"`)},
			{Name: "again", Realm: "corp", Journey: "again", When: expr(t, `request.radius.nas_identifier == "again"`)},
			{Name: "duo", Realm: "corp", Journey: "mfa", AppendedFactor: true, When: expr(t, `request.radius.nas_identifier == "duo"`)},
			{Name: "pap", Realm: "corp", Journey: "pap", ReplyAttributes: expr(t, `{
				"Fortinet-Group-Name" = ["vpn", "admins"]
				"Session-Timeout"     = 3600
				"Class"               = state.tag
				"Filter-Id"           = request.radius.nas_identifier == "" ? "none" : request.radius.nas_identifier
			}`)},
		},
	}
}

func newEnv(t *testing.T, mod func(*Config, *Options)) *env {
	t.Helper()
	p := newPusher()
	kv := newMemKV()
	eng := engine.New(engine.Options{KV: kv})
	eng.Load(testProgram(p))
	logs := &logtest.Buffer{}
	cfg := baseConfig(t)
	o := Options{Engine: eng, Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if mod != nil {
		mod(cfg, &o)
	}
	srv, err := New(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(conn)
	e := &env{t: t, eng: eng, srv: srv, addr: conn.LocalAddr().String(), pusher: p, logs: logs, kv: kv}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return e
}

// req builds an Access-Request for user with password (nil: none) and
// optional extra attributes.
func accessRequest(user string, password *string, extra ...func(*radius.Packet)) *radius.Packet {
	p := radius.New(radius.CodeAccessRequest, []byte(testSecret))
	p.Add(attrUserName, radius.Attribute(user))
	if password != nil {
		a, _ := radius.NewUserPassword([]byte(*password), p.Secret, p.Authenticator[:])
		p.Add(attrUserPassword, a)
	}
	for _, f := range extra {
		f(p)
	}
	return p
}

func nasID(id string) func(*radius.Packet) {
	return func(p *radius.Packet) { p.Add(attrNASIdentifier, radius.Attribute(id)) }
}

func withState(state []byte) func(*radius.Packet) {
	return func(p *radius.Packet) { p.Add(attrState, radius.Attribute(state)) }
}

func pw(s string) *string { return &s }

// sign is SignRequest for tests.
func sign(t testing.TB, p *radius.Packet) []byte {
	t.Helper()
	b, err := SignRequest(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exchange sends a signed request with layeh's client and checks the
// reply's authenticators; it fails the test on timeout.
func (e *env) exchange(p *radius.Packet) *radius.Packet {
	e.t.Helper()
	r, err := e.try(p, 10*time.Second)
	if err != nil {
		e.t.Fatalf("exchange: %v", err)
	}
	return r
}

func (e *env) try(p *radius.Packet, timeout time.Duration) (*radius.Packet, error) {
	e.t.Helper()
	if _, ok := p.Lookup(attrMessageAuthenticator); !ok {
		sign(e.t, p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := &radius.Client{Retry: 0}
	r, err := c.Exchange(ctx, p, e.addr)
	if err != nil {
		return nil, err
	}
	checkReply(e.t, r, p)
	return r, nil
}

// checkReply verifies Message-Authenticator is first and valid.
func checkReply(t testing.TB, r, req *radius.Packet) {
	t.Helper()
	if r.Code == radius.CodeAccountingResponse {
		return
	}
	if len(r.Attributes) == 0 || r.Attributes[0].Type != attrMessageAuthenticator {
		t.Fatalf("reply %v: Message-Authenticator is not the first attribute", r.Code)
	}
	// Recompute over the reply with the request authenticator in place.
	q := &radius.Packet{Code: r.Code, Identifier: r.Identifier, Authenticator: req.Authenticator, Secret: r.Secret}
	for _, a := range r.Attributes {
		q.Add(a.Type, a.Attribute)
	}
	q.Attributes[0] = &radius.AVP{Type: attrMessageAuthenticator, Attribute: make(radius.Attribute, 16)}
	b, _ := q.MarshalBinary()
	mac := hmac.New(md5.New, r.Secret)
	mac.Write(b)
	if !hmac.Equal(mac.Sum(nil), r.Attributes[0].Attribute) {
		t.Fatalf("reply %v: bad Message-Authenticator", r.Code)
	}
}

// raw sends bytes from a fresh socket and returns the reply, or nil after
// wait.
func (e *env) raw(b []byte, wait time.Duration) []byte {
	e.t.Helper()
	conn, err := net.Dial("udp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(b); err != nil {
		e.t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

func replyMessage(p *radius.Packet) string {
	var parts []string
	for _, a := range p.Attributes {
		if a.Type == attrReplyMessage {
			parts = append(parts, string(a.Attribute))
		}
	}
	return strings.Join(parts, "")
}

func vendorAttrs(p *radius.Packet, vendor uint32, typ byte) []string {
	var out []string
	for _, a := range p.Attributes {
		if a.Type != attrVendorSpecific || len(a.Attribute) < 6 {
			continue
		}
		v, sub := uint32(a.Attribute[0])<<24|uint32(a.Attribute[1])<<16|uint32(a.Attribute[2])<<8|uint32(a.Attribute[3]), a.Attribute[4]
		if v == vendor && sub == typ {
			out = append(out, string(a.Attribute[6:]))
		}
	}
	return out
}

func (e *env) waitLog(substr string) {
	e.t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(e.logs.String(), substr) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("log never said %q:\n%s", substr, e.logs.String())
}

// waitHeld waits until n requests are held: a journey that has started
// waiting is not yet a held request.
func (e *env) waitHeld(n int) {
	e.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); e.srv.Held() != n; {
		if time.Now().After(deadline) {
			e.t.Fatalf("%d requests held, want %d", e.srv.Held(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func codeOf(p *radius.Packet) string {
	if p == nil {
		return "<none>"
	}
	return fmt.Sprint(p.Code)
}
