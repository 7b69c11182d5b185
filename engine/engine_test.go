package engine_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/audit"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/engine/store/memstore"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// funcNode adapts a function to engine.Node.
type funcNode func(ctx context.Context, nc *engine.Context) (engine.Result, error)

func (f funcNode) Process(ctx context.Context, nc *engine.Context) (engine.Result, error) {
	return f(ctx, nc)
}

// ask suspends once for a name, then records it and goes on.
var ask = funcNode(func(_ context.Context, nc *engine.Context) (engine.Result, error) {
	if !nc.Resumed() {
		return engine.Ask(engine.Callback{Type: engine.CallbackName, ID: "username", Prompt: "User name"}), nil
	}
	v, _ := nc.Answer("username")
	nc.SetUser(v)
	nc.SetState("greeting", cty.StringVal("hello "+v))
	nc.SetState("meta", cty.ObjectVal(map[string]cty.Value{"n": cty.NumberIntVal(2), "ok": cty.True, "tags": cty.ListVal([]cty.Value{cty.StringVal("a")})}))
	return engine.Next("next"), nil
})

// pick asks a choice and follows it.
var pick = funcNode(func(_ context.Context, nc *engine.Context) (engine.Result, error) {
	if !nc.Resumed() {
		return engine.Ask(engine.Callback{Type: engine.CallbackChoice, ID: "choice", Options: []string{"yes", "no"}}), nil
	}
	v, _ := nc.Answer("choice")
	return engine.Next(engine.Outcome(v)), nil
})

// isAlice checks state written by ask, through a runtime expression value.
var isAlice = funcNode(func(_ context.Context, nc *engine.Context) (engine.Result, error) {
	if nc.State("greeting").Equals(cty.StringVal("hello alice")).True() {
		return engine.Next("true"), nil
	}
	return engine.Next("false"), nil
})

var pass = funcNode(func(context.Context, *engine.Context) (engine.Result, error) { return engine.Next("next"), nil })

func node(name string, n engine.Node, edges map[engine.Outcome]string) *engine.CompiledNode {
	return &engine.CompiledNode{Name: name, Type: "test", Node: n, Edges: edges}
}

func journey(name, rev, start string, nodes ...*engine.CompiledNode) *engine.Journey {
	j := &engine.Journey{Name: name, Realm: "corp", Start: start, Revision: rev, Nodes: map[string]*engine.CompiledNode{}, StateKeys: []string{"greeting"}}
	for _, n := range nodes {
		j.Nodes[n.Name] = n
	}
	return j
}

func program(rev string, js ...*engine.Journey) *engine.Program {
	p := &engine.Program{Revision: rev, Realms: map[string]*engine.Realm{"corp": {Name: "corp"}}, Journeys: map[string]*engine.Journey{}}
	for _, j := range js {
		p.Journeys[j.Name] = j
	}
	return p
}

// loginProgram: ask name -> alice? -> choice yes/no -> success/failure.
func loginProgram(rev string) *engine.Program {
	return program(rev, journey("login", rev+"-login", "ask",
		node("ask", ask, map[engine.Outcome]string{"next": "check"}),
		node("check", isAlice, map[engine.Outcome]string{"true": "confirm", "false": "failure"}),
		node("confirm", pick, map[engine.Outcome]string{"yes": "success", "no": "failure"}),
	))
}

func newEngine(t *testing.T, kv store.KV) (*engine.Engine, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	e := engine.New(engine.Options{KV: kv, Clock: clk})
	return e, clk
}

func str(s string) *string { return &s }

func TestJourneyRunsToEachTerminal(t *testing.T) {
	cases := []struct {
		name    string
		user    string
		choice  string
		want    engine.Outcome
		path    []string
		suspend int
	}{
		{"alice confirms", "alice", "yes", engine.Success, []string{"ask", "check", "confirm"}, 2},
		{"alice declines", "alice", "no", engine.Failure, []string{"ask", "check", "confirm"}, 2},
		{"bob is refused", "bob", "", engine.Failure, []string{"ask", "check"}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newEngine(t, memstore.New())
			e.Load(loginProgram("r1"))
			ctx := context.Background()
			r, err := e.Start(ctx, "corp", "login", engine.Request{Protocol: "api"})
			if err != nil {
				t.Fatal(err)
			}
			if r.Done || r.Session == "" || len(r.Callbacks) != 1 || r.Callbacks[0].ID != "username" {
				t.Fatalf("start: %+v", r)
			}
			id := r.Session
			r, err = e.Resume(ctx, id, []engine.Callback{{ID: "username", Value: str(tc.user)}}, engine.Request{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.suspend == 2 {
				if r.Done || r.Node != "confirm" {
					t.Fatalf("want suspension at confirm, got %+v", r)
				}
				r, err = e.Resume(ctx, id, []engine.Callback{{Value: str(tc.choice)}}, engine.Request{})
				if err != nil {
					t.Fatal(err)
				}
			}
			if !r.Done || r.Outcome != tc.want {
				t.Fatalf("want %s, got %+v", tc.want, r)
			}
			if fmt.Sprint(r.Path) != fmt.Sprint(tc.path) {
				t.Errorf("path %v, want %v", r.Path, tc.path)
			}
			if _, err := e.Resume(ctx, id, nil, engine.Request{}); !errors.Is(err, engine.ErrSessionFinished) {
				t.Errorf("replay of a finished session: %v, want ErrSessionFinished", err)
			}
		})
	}
}

func TestBadAnswersChangeNothing(t *testing.T) {
	e, _ := newEngine(t, memstore.New())
	e.Load(loginProgram("r1"))
	ctx := context.Background()
	r, _ := e.Start(ctx, "corp", "login", engine.Request{})
	r, err := e.Resume(ctx, r.Session, []engine.Callback{{ID: "username", Value: str("alice")}}, engine.Request{})
	if err != nil {
		t.Fatal(err)
	}
	id := r.Session
	bad := []struct {
		name     string
		answers  []engine.Callback
		callback string
	}{
		{"unknown id", []engine.Callback{{ID: "nope", Value: str("yes")}}, "nope"},
		{"missing value", []engine.Callback{{ID: "choice"}}, "choice"},
		{"no answers", nil, "choice"},
		{"option not offered", []engine.Callback{{ID: "choice", Value: str("maybe")}}, "choice"},
		{"position out of range", []engine.Callback{{ID: "choice", Value: str("3")}}, "choice"},
		{"wrong type", []engine.Callback{{ID: "choice", Type: "password", Value: str("yes")}}, "choice"},
		{"too long", []engine.Callback{{ID: "choice", Value: str(string(make([]byte, engine.MaxAnswerBytes+1)))}}, "choice"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Resume(ctx, id, tc.answers, engine.Request{})
			var ae *engine.AnswerError
			if !errors.As(err, &ae) || ae.Callback != tc.callback {
				t.Fatalf("got %v, want an AnswerError naming %q", err, tc.callback)
			}
		})
	}
	r, err = e.Resume(ctx, id, []engine.Callback{{ID: "choice", Value: str("yes")}}, engine.Request{})
	if err != nil || r.Outcome != engine.Success {
		t.Fatalf("after bad answers the session must still work: %+v %v", r, err)
	}
}

func TestSessionErrors(t *testing.T) {
	e, clk := newEngine(t, memstore.New())
	e.Load(loginProgram("r1"))
	ctx := context.Background()
	if _, err := e.Resume(ctx, "no-such-session", nil, engine.Request{}); !errors.Is(err, engine.ErrSessionNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	var nf *engine.NotFoundError
	if _, err := e.Start(ctx, "corp", "nope", engine.Request{}); !errors.As(err, &nf) || nf.Kind != "journey" {
		t.Errorf("unknown journey: %v", err)
	}
	if _, err := e.Start(ctx, "other", "login", engine.Request{}); !errors.As(err, &nf) || nf.Kind != "realm" {
		t.Errorf("unknown realm: %v", err)
	}
	r, _ := e.Start(ctx, "corp", "login", engine.Request{})
	clk.Add(engine.DefaultSessionTimeout + time.Second)
	if _, err := e.Resume(ctx, r.Session, []engine.Callback{{ID: "username", Value: str("alice")}}, engine.Request{}); !errors.Is(err, engine.ErrSessionExpired) {
		t.Errorf("expired: %v", err)
	}
	n, err := e.Sweep(clk.Now())
	if err != nil || n != 1 {
		t.Errorf("sweep removed %d (%v), want 1", n, err)
	}
	if _, err := e.Resume(ctx, r.Session, nil, engine.Request{}); !errors.Is(err, engine.ErrSessionNotFound) {
		t.Errorf("after sweep: %v", err)
	}
}

func TestStepLimitStopsRunawayLoops(t *testing.T) {
	e, _ := newEngine(t, memstore.New())
	e.Load(program("r1", journey("loop", "l1", "a",
		node("a", pass, map[engine.Outcome]string{"next": "b"}),
		node("b", pass, map[engine.Outcome]string{"next": "a"}),
	)))
	r, err := e.Start(context.Background(), "corp", "loop", engine.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Done || r.Outcome != engine.Failure || r.Reason == "" {
		t.Fatalf("want failure by step limit, got %+v", r)
	}
}

func TestNodeFaultsFailTheJourney(t *testing.T) {
	boom := funcNode(func(context.Context, *engine.Context) (engine.Result, error) { panic("boom") })
	broken := funcNode(func(context.Context, *engine.Context) (engine.Result, error) {
		return engine.Result{}, errors.New("store down")
	})
	unwired := funcNode(func(context.Context, *engine.Context) (engine.Result, error) { return engine.Next("surprise"), nil })
	for name, n := range map[string]engine.Node{"panic": boom, "error": broken, "unwired outcome": unwired} {
		t.Run(name, func(t *testing.T) {
			e, _ := newEngine(t, memstore.New())
			e.Load(program("r1", journey("j", "j1", "x", node("x", n, map[engine.Outcome]string{"next": "success"}))))
			r, err := e.Start(context.Background(), "corp", "j", engine.Request{})
			if err != nil || !r.Done || r.Outcome != engine.Failure {
				t.Fatalf("got %+v, %v", r, err)
			}
		})
	}
}

func TestInnerJourneyReturnsItsTerminal(t *testing.T) {
	enter := funcNode(func(context.Context, *engine.Context) (engine.Result, error) {
		return engine.Result{Enter: "login"}, nil
	})
	p := loginProgram("r1")
	outer := journey("outer", "o1", "sub",
		node("sub", enter, map[engine.Outcome]string{"success": "after", "failure": "failure"}),
		node("after", pass, map[engine.Outcome]string{"next": "success"}),
	)
	p.Journeys["outer"] = outer
	e, _ := newEngine(t, memstore.New())
	e.Load(p)
	ctx := context.Background()
	r, err := e.Start(ctx, "corp", "outer", engine.Request{})
	if err != nil || r.Node != "ask" {
		t.Fatalf("start: %+v %v", r, err)
	}
	r, _ = e.Resume(ctx, r.Session, []engine.Callback{{ID: "username", Value: str("alice")}}, engine.Request{})
	r, err = e.Resume(ctx, r.Session, []engine.Callback{{ID: "choice", Value: str("yes")}}, engine.Request{})
	if err != nil || !r.Done || r.Outcome != engine.Success || r.User != "alice" {
		t.Fatalf("got %+v %v", r, err)
	}
	if want := "[sub ask check confirm after]"; fmt.Sprint(r.Path) != want {
		t.Errorf("path %v, want %s", r.Path, want)
	}
}

func TestSessionsFinishOnTheRevisionTheyStarted(t *testing.T) {
	e, _ := newEngine(t, memstore.New())
	e.Load(loginProgram("r1"))
	ctx := context.Background()
	r, _ := e.Start(ctx, "corp", "login", engine.Request{})
	// The new revision accepts anyone straight away.
	e.Load(program("r2", journey("login", "r2-login", "ask", node("ask", pass, map[engine.Outcome]string{"next": "success"}))))
	r, err := e.Resume(ctx, r.Session, []engine.Callback{{ID: "username", Value: str("alice")}}, engine.Request{})
	if err != nil || r.Done || r.Node != "confirm" {
		t.Fatalf("old session should continue on r1: %+v %v", r, err)
	}
	r2, err := e.Start(ctx, "corp", "login", engine.Request{})
	if err != nil || !r2.Done || r2.Outcome != engine.Success {
		t.Fatalf("new session should run r2: %+v %v", r2, err)
	}
}

func TestSuspendedSessionSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "authd.db")
	kv, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := newEngine(t, kv)
	e.Load(loginProgram("r1"))
	ctx := context.Background()
	r, _ := e.Start(ctx, "corp", "login", engine.Request{Protocol: "api", ClientIP: "192.0.2.1"})
	r, err = e.Resume(ctx, r.Session, []engine.Callback{{ID: "username", Value: str("alice")}}, engine.Request{})
	if err != nil || r.Node != "confirm" {
		t.Fatalf("%+v %v", r, err)
	}
	id := r.Session
	if err := kv.Close(); err != nil {
		t.Fatal(err)
	}

	kv, err = boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	e2, _ := newEngine(t, kv)
	e2.Load(loginProgram("r1"))
	s, err := e2.Session(id)
	if err != nil {
		t.Fatal(err)
	}
	wantMeta := cty.ObjectVal(map[string]cty.Value{"n": cty.NumberIntVal(2), "ok": cty.True, "tags": cty.ListVal([]cty.Value{cty.StringVal("a")})})
	if !s.State["greeting"].RawEquals(cty.StringVal("hello alice")) || !s.State["meta"].RawEquals(wantMeta) || s.Origin.ClientIP != "192.0.2.1" {
		t.Errorf("state after restart: %#v origin %+v", s.State, s.Origin)
	}
	r, err = e2.Resume(ctx, id, []engine.Callback{{ID: "choice", Value: str("yes")}}, engine.Request{})
	if err != nil || r.Outcome != engine.Success || r.User != "alice" {
		t.Fatalf("after restart: %+v %v", r, err)
	}
}

func TestConcurrentResumesOfOneSessionAdvanceItOnce(t *testing.T) {
	e, _ := newEngine(t, memstore.New())
	e.Load(loginProgram("r1"))
	ctx := context.Background()
	r, _ := e.Start(ctx, "corp", "login", engine.Request{})
	id := r.Session
	var wg sync.WaitGroup
	var mu sync.Mutex
	oks := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.Resume(ctx, id, []engine.Callback{{ID: "username", Value: str("alice")}}, engine.Request{})
			if err == nil && r.Node == "confirm" {
				mu.Lock()
				oks++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if oks != 1 {
		t.Fatalf("%d resumes advanced the session, want exactly 1", oks)
	}
}

func TestWakeReleasesHolders(t *testing.T) {
	e, _ := newEngine(t, memstore.New())
	c1, c2 := e.WakeChan("s1"), e.WakeChan("s1")
	other := e.WakeChan("s2")
	e.Wake("s1")
	for i, c := range []<-chan struct{}{c1, c2} {
		select {
		case <-c:
		default:
			t.Errorf("holder %d not woken", i)
		}
	}
	select {
	case <-other:
		t.Error("another session was woken")
	default:
	}
	select {
	case <-e.WakeChan("s1"):
		t.Error("a new holder must wait for the next wake")
	default:
	}
	// A wake that comes before anyone holds the session is not lost.
	e.Wake("s3")
	select {
	case <-e.WakeChan("s3"):
	default:
		t.Error("an early wake was lost")
	}
	select {
	case <-e.WakeChan("s3"):
		t.Error("an early wake must release one hold only")
	default:
	}
}

// collect is an audit.Logger that keeps what it is given.
type collect struct {
	mu      sync.Mutex
	entries []audit.Entry
}

func (c *collect) Log(_ context.Context, e audit.Entry) {
	c.mu.Lock()
	c.entries = append(c.entries, e)
	c.mu.Unlock()
}

func (c *collect) all() []audit.Entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]audit.Entry(nil), c.entries...)
}

// typedProgram is loginProgram with real node type names, so the audit
// reason names the factor and the choice.
func typedProgram(rev string) *engine.Program {
	n := func(name, typ string, nd engine.Node, edges map[engine.Outcome]string) *engine.CompiledNode {
		return &engine.CompiledNode{Name: name, Type: typ, Node: nd, Edges: edges}
	}
	return program(rev, journey("login", rev+"-login", "ask",
		n("ask", "username", ask, map[engine.Outcome]string{"next": "check"}),
		n("check", "password_check", funcNode(func(_ context.Context, nc *engine.Context) (engine.Result, error) {
			if nc.UserName() == "alice" {
				return engine.Result{Outcome: "success", Reason: "password ok"}, nil
			}
			return engine.Result{Outcome: "failure", Reason: "wrong password or unknown user"}, nil
		}), map[engine.Outcome]string{"success": "confirm", "failure": "failure"}),
		n("confirm", "choice", pick, map[engine.Outcome]string{"yes": "success", "no": "failure"}),
	))
}

func TestJourneyEndsAreAudited(t *testing.T) {
	log := &collect{}
	clk := &fakeClock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	e := engine.New(engine.Options{KV: memstore.New(), Clock: clk, Audit: log})
	e.Load(typedProgram("r1"))
	if e.Services().Audit != audit.Logger(log) || e.Audit() != audit.Logger(log) {
		t.Fatal("the audit logger is not handed to nodes and front ends")
	}
	ctx := engine.ContextWithRequestID(context.Background(), "req-1")
	req := engine.Request{Protocol: "api", ClientIP: "192.0.2.7"}
	run := func(user, choice string) {
		t.Helper()
		r, err := e.Start(ctx, "corp", "login", req)
		if err != nil {
			t.Fatal(err)
		}
		r, err = e.Resume(ctx, r.Session, []engine.Callback{{ID: "username", Value: str(user)}}, req)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Done {
			if _, err := e.Resume(ctx, r.Session, []engine.Callback{{ID: "choice", Value: str(choice)}}, req); err != nil {
				t.Fatal(err)
			}
		}
	}
	run("alice", "yes")
	run("bob", "")
	run("alice", "no")
	got := log.all()
	if len(got) != 3 {
		t.Fatalf("want 3 entries, got %+v", got)
	}
	ok := got[0]
	if ok.Kind != audit.KindJourney || ok.Realm != "corp" || ok.User != "alice" || ok.Journey != "login" ||
		ok.Frontend != "api" || ok.Client != "192.0.2.7" || ok.Result != audit.ResultSuccess ||
		ok.RequestID != "req-1" || len(ok.Session) == 0 || len(ok.Session) > 8 ||
		fmt.Sprint(ok.Path) != "[ask check confirm]" || ok.Detail["node"] != "confirm" {
		t.Fatalf("success entry: %+v", ok)
	}
	if ok.Reason != "authentication with password successful (chosen yes)" {
		t.Fatalf("success reason %q", ok.Reason)
	}
	if got[1].Result != audit.ResultFailure || got[1].Reason != "authentication failed at check (wrong password or unknown user)" {
		t.Fatalf("failure entry: %+v", got[1])
	}
	if got[2].Result != audit.ResultFailure || got[2].Reason != "authentication failed at confirm (chosen no)" {
		t.Fatalf("declined entry: %+v", got[2])
	}
}

// flakyKV fails every write while broken is set, like a full disk.
type flakyKV struct {
	store.KV
	broken atomicBool
}

type atomicBool struct {
	mu sync.Mutex
	v  bool
}

func (b *atomicBool) set(v bool) { b.mu.Lock(); b.v = v; b.mu.Unlock() }
func (b *atomicBool) get() bool  { b.mu.Lock(); defer b.mu.Unlock(); return b.v }

var errDiskFull = errors.New("no space left on device")

func (f *flakyKV) Update(fn func(store.Tx) error) error {
	if f.broken.get() {
		return errDiskFull
	}
	return f.KV.Update(fn)
}

func (f *flakyKV) Batch(fn func(store.Tx) error) error {
	if f.broken.get() {
		return errDiskFull
	}
	return f.KV.Batch(fn)
}

func TestStoreWriteErrorFailsTheRequestCleanly(t *testing.T) {
	kv := &flakyKV{KV: memstore.New()}
	log := &collect{}
	e := engine.New(engine.Options{KV: kv, Audit: log})
	e.Load(loginProgram("r1"))
	ctx := context.Background()
	r, err := e.Start(ctx, "corp", "login", engine.Request{Protocol: "api"})
	if err != nil {
		t.Fatal(err)
	}
	id := r.Session
	r, err = e.Resume(ctx, id, []engine.Callback{{ID: "username", Value: str("alice")}}, engine.Request{})
	if err != nil || r.Node != "confirm" {
		t.Fatalf("%v %+v", err, r)
	}

	kv.broken.set(true)
	if _, err := e.Resume(ctx, id, []engine.Callback{{ID: "choice", Value: str("yes")}}, engine.Request{}); !errors.Is(err, errDiskFull) {
		t.Fatalf("want the store's error, got %v", err)
	}
	if _, err := e.Start(ctx, "corp", "login", engine.Request{}); !errors.Is(err, errDiskFull) {
		t.Fatalf("start on a full disk: %v", err)
	}
	if es := log.all(); len(es) != 1 || es[0].Result != audit.ResultError {
		t.Fatalf("want one error entry, got %+v", es)
	}

	// The disk has room again: the session is where it was and finishes.
	kv.broken.set(false)
	r, err = e.Resume(ctx, id, []engine.Callback{{ID: "choice", Value: str("yes")}}, engine.Request{})
	if err != nil || !r.Done || r.Outcome != engine.Success {
		t.Fatalf("after the disk recovered: %v %+v", err, r)
	}
}

func TestTrailKeepsTheNewestSteps(t *testing.T) {
	loop := funcNode(func(_ context.Context, nc *engine.Context) (engine.Result, error) {
		n := nc.Counter() + 1
		nc.SetCounter(n)
		if n < 100 {
			return engine.Next("again"), nil
		}
		return engine.Next("done"), nil
	})
	e, _ := newEngine(t, memstore.New())
	e.Load(program("r1", journey("loop", "r1-loop", "l", node("l", loop, map[engine.Outcome]string{"again": "l", "done": "success"}))))
	r, err := e.Start(context.Background(), "corp", "loop", engine.Request{})
	if err != nil || !r.Done {
		t.Fatalf("%v %+v", err, r)
	}
	tr := r.State.Trail
	if len(tr) != engine.MaxTrail || tr[len(tr)-1].Outcome != "done" || tr[0].Outcome != "again" {
		t.Fatalf("trail of %d: first %+v last %+v", len(tr), tr[0], tr[len(tr)-1])
	}
}

func TestOldRevisionsAreForgottenOnceTheirSessionsExpired(t *testing.T) {
	e, clk := newEngine(t, memstore.New())
	e.Load(loginProgram("r1"))
	ctx := context.Background()
	r, err := e.Start(ctx, "corp", "login", engine.Request{})
	if err != nil {
		t.Fatal(err)
	}
	e.Load(loginProgram("r2"))
	if n := e.Revisions(); n != 2 {
		t.Fatalf("want both revisions kept, got %d", n)
	}
	clk.Add(engine.DefaultSessionTimeout / 2)
	if _, err := e.Sweep(clk.Now()); err != nil {
		t.Fatal(err)
	}
	if n := e.Revisions(); n != 2 {
		t.Fatalf("pruned while a session may still run: %d", n)
	}
	// The old session still resumes on r1.
	if r, err = e.Resume(ctx, r.Session, []engine.Callback{{ID: "username", Value: str("alice")}}, engine.Request{}); err != nil || r.Node != "confirm" {
		t.Fatalf("%v %+v", err, r)
	}
	clk.Add(engine.DefaultSessionTimeout)
	if _, err := e.Sweep(clk.Now()); err != nil {
		t.Fatal(err)
	}
	if n := e.Revisions(); n != 1 {
		t.Fatalf("old revision kept after every session expired: %d", n)
	}
	// Reloading the same program again is harmless.
	e.Load(e.Program())
	if n := e.Revisions(); n != 1 {
		t.Fatalf("%d", n)
	}
}

func TestPendingSessions(t *testing.T) {
	e, _ := newEngine(t, memstore.New())
	e.Load(loginProgram("r1"))
	ctx := context.Background()
	var ids []string
	for i := 0; i < 3; i++ {
		r, err := e.Start(ctx, "corp", "login", engine.Request{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.Session)
	}
	// bob fails at once: that session leaves a tombstone, not a pending one.
	if _, err := e.Resume(ctx, ids[0], []engine.Callback{{ID: "username", Value: str("bob")}}, engine.Request{}); err != nil {
		t.Fatal(err)
	}
	if n, err := e.PendingSessions(); err != nil || n != 2 {
		t.Fatalf("pending = %d, %v; want 2", n, err)
	}
}

func TestExpiredSessionsAreAuditedWhenSwept(t *testing.T) {
	log := &collect{}
	clk := &fakeClock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	e := engine.New(engine.Options{KV: memstore.New(), Clock: clk, Audit: log})
	e.Load(typedProgram("r1"))
	ctx := context.Background()
	req := engine.Request{Protocol: "radius", ClientIP: "192.0.2.9"}
	waiting, err := e.Start(ctx, "corp", "login", req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Resume(ctx, waiting.Session, []engine.Callback{{ID: "username", Value: str("alice")}}, req); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Start(ctx, "corp", "login", req); err != nil { // never answered
		t.Fatal(err)
	}
	done, _ := e.Start(ctx, "corp", "login", req)
	if _, err := e.Resume(ctx, done.Session, []engine.Callback{{ID: "username", Value: str("bob")}}, req); err != nil {
		t.Fatal(err)
	}
	before := len(log.all()) // bob's failure
	clk.Add(engine.DefaultSessionTimeout + time.Second)
	if n, err := e.Sweep(clk.Now()); err != nil || n != 3 {
		t.Fatalf("swept %d, %v", n, err)
	}
	got := log.all()[before:]
	if len(got) != 2 {
		t.Fatalf("want the two unfinished sessions audited, got %+v", got)
	}
	for _, en := range got {
		if en.Kind != audit.KindJourney || en.Result != audit.ResultFailure || en.Frontend != "radius" || en.Client != "192.0.2.9" {
			t.Fatalf("entry %+v", en)
		}
	}
	reasons := got[0].Reason + " | " + got[1].Reason
	if !strings.Contains(reasons, "session expired unanswered at node confirm") || !strings.Contains(reasons, "session expired unanswered at node ask") {
		t.Fatalf("reasons: %s", reasons)
	}
}

func TestUnholdEndsAHoldWithoutAWake(t *testing.T) {
	e, _ := newEngine(t, memstore.New())
	tests := []struct {
		name     string
		holds    int
		unholds  int
		wantHeld bool
	}{
		{"one holder let go", 1, 1, false},
		{"one of two let go", 2, 1, true},
		{"both let go", 2, 2, false},
		{"nobody let go", 1, 0, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("u%d", i)
			var chans []<-chan struct{}
			for range tt.holds {
				chans = append(chans, e.WakeChan(id))
			}
			for _, c := range chans[:tt.unholds] {
				e.Unhold(id, c)
			}
			if got := e.WakeHeld(id); got != tt.wantHeld {
				t.Errorf("WakeHeld = %v, want %v", got, tt.wantHeld)
			}
			// Whoever still holds is woken; nothing stays registered.
			for _, c := range chans[tt.unholds:] {
				select {
				case <-c:
				default:
					t.Error("a remaining holder was not woken")
				}
			}
		})
	}
	// Unhold after the wake does not disturb the next holder.
	c := e.WakeChan("late")
	e.Wake("late")
	next := e.WakeChan("late")
	e.Unhold("late", c)
	e.Wake("late")
	select {
	case <-next:
	default:
		t.Error("the next holder lost its wake to a stale Unhold")
	}
}
