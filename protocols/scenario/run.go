package scenario

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/mfa"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/engine/users"
	"github.com/authd/authd/protocols/oauth"
	rad "github.com/authd/authd/protocols/radius"
)

// OutcomeExpired is the outcome of a scenario whose session outlived its
// journey's session_timeout before the next answer (the front end tells
// the user to start again).
const OutcomeExpired = "expired"

// Options tune a run.
type Options struct {
	// Parallel is how many scenarios run at once (default GOMAXPROCS).
	// Each has its own store, engine and clock, so they cannot interfere.
	Parallel int
	// Log receives the engine's and front ends' logs (default: discarded).
	Log *slog.Logger
}

// Report is the outcome of a run.
type Report struct {
	Dir      string
	Results  []*Result // in the suite's order
	Coverage []JourneyCoverage
	Duration time.Duration
}

// Failed counts the scenarios that failed.
func (r *Report) Failed() int {
	n := 0
	for _, res := range r.Results {
		if !res.Passed() {
			n++
		}
	}
	return n
}

// Result is what one scenario did and where it fell short.
type Result struct {
	Scenario *Scenario
	Failures []Failure
	// What happened: the outcome (success, failure or suspended), the
	// nodes entered, the user and the engine's reason.
	Outcome  string
	Path     []string
	User     string
	Reason   string
	Duration time.Duration
}

// Passed reports whether every expectation held.
func (r *Result) Passed() bool { return len(r.Failures) == 0 }

// Failure is one expectation that did not hold, with the source range of
// the expectation so editors can jump to it.
type Failure struct {
	Message string
	Range   hcl.Range
	// Detail holds further lines (a path diff).
	Detail []string
}

// Runner runs the scenarios of a suite against one loaded configuration.
// It is built once per run: the program's nodes are wrapped for tracing
// and the front ends' configurations prepared, then every scenario gets
// its own store, engine and clock.
type Runner struct {
	cfg       *dsl.Config
	suite     *Suite
	opts      Options
	tracer    *tracer
	prog      *engine.Program
	hasher    *hasher
	masterKey []byte
	log       *slog.Logger
	radiusCfg *rad.Config
	oauthCfg  oauth.Config

	oauthOnce sync.Once
	oauthKV   store.KV

	mu      sync.Mutex
	covered map[Edge]bool
}

// NewRunner prepares a run. The suite must have passed Check against cfg.
func NewRunner(cfg *dsl.Config, s *Suite, opts Options) *Runner {
	if opts.Parallel <= 0 {
		opts.Parallel = runtime.GOMAXPROCS(0)
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	r := &Runner{
		cfg: cfg, suite: s, opts: opts, tracer: &tracer{}, hasher: newHasher(),
		masterKey: key, log: log, covered: map[Edge]bool{},
	}
	r.prog = r.tracer.wrap(cfg.Program)
	r.radiusCfg = radiusConfig(rad.FromDSL(cfg))
	r.oauthCfg = oauthConfig(cfg)
	return r
}

// Run runs every scenario of the suite and returns the report.
func (rn *Runner) Run(ctx context.Context) *Report {
	start := time.Now()
	rep := &Report{Dir: rn.suite.Dir, Results: make([]*Result, len(rn.suite.Scenarios))}
	rn.warmUp()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < rn.opts.Parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				rep.Results[i] = rn.RunScenario(ctx, rn.suite.Scenarios[i])
			}
		}()
	}
	for i := range rn.suite.Scenarios {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	rep.Coverage = rn.coverage()
	rep.Duration = time.Since(start)
	return rep
}

// warmUp pays, before any scenario's clock starts, the one full-cost
// argon2id hash a process makes: users checks a password against a dummy
// hash when a name is unknown, so that timing never tells, and makes that
// hash on first use. Without this the first scenarios to check a password
// would each appear to take half a second.
func (rn *Runner) warmUp() {
	for _, j := range rn.cfg.Journeys {
		for _, n := range j.Nodes {
			if n.Type == "password_check" {
				// A known user with a cheap hash: the dummy is made, and
				// only the cheap hash is verified.
				repo := users.NewRepo(memstore.New())
				u := &users.User{Realm: "warm-up", Name: "warm-up", PasswordHash: rn.hasher.hash("warm-up")}
				if repo.Create(u) == nil {
					_, _ = repo.CheckPassword(u.Realm, u.Name, "warm-up", nil, time.Now())
				}
				return
			}
		}
	}
}

// run is one scenario in progress.
type run struct {
	*Runner
	sc      *Scenario
	res     *Result
	clock   *Clock
	kv      store.KV
	eng     *engine.Engine
	phones  Phones
	sms     *smsBox
	mfa     *mfa.Repo
	factors *factors
	trace   *trace
	req     engine.Request

	// what the client sees now
	view view
	// how it ended
	done            bool
	outcome, user   string
	reason          string
	claims          map[string]any
	stepFailedEarly bool
}

// view is a suspension as the client sees it.
type view struct {
	node      string
	prompts   []string
	callbacks []engine.Callback
}

// RunScenario runs one scenario in a fresh in-memory store.
func (rn *Runner) RunScenario(ctx context.Context, sc *Scenario) *Result {
	start := time.Now()
	r := &run{Runner: rn, sc: sc, res: &Result{Scenario: sc}}
	r.clock = &Clock{now: sc.Clock}
	if sc.Frontend == FrontendRADIUS {
		// The RADIUS front end times its challenges by the wall clock and
		// caps them at the session's expiry, which the engine computes
		// from this clock; a clock in the past would expire every
		// challenge at once. Start at the wall clock's second instead.
		r.clock.now = time.Now().UTC().Truncate(time.Second)
	}
	r.kv = memstore.New()
	r.eng = engine.New(engine.Options{KV: r.kv, Clock: r.clock, Log: rn.log})
	svc := r.eng.Services()
	r.phones = newPhones(rn.prog, sc.Device)
	svc.Push = r.phones
	r.sms = &smsBox{}
	svc.SMS = map[string]engine.SMSSender{}
	for name := range rn.cfg.SMSGateways {
		svc.SMS[name] = r.sms
	}
	r.eng.Load(rn.prog)
	repo, err := mfa.NewRepo(r.kv, rn.masterKey)
	if err == nil {
		mfa.Attach(r.kv, repo)
		defer mfa.Attach(r.kv, nil)
		r.mfa = repo
	}
	r.trace = rn.tracer.start(svc)
	defer rn.tracer.stop(svc)

	if err == nil {
		err = r.createUsers()
	}
	if err == nil {
		switch sc.Frontend {
		case FrontendRADIUS:
			err = r.runRADIUS(ctx)
		case FrontendOAuth:
			err = r.runOAuth(ctx)
		default:
			err = r.runAPI(ctx)
		}
	}
	path, _, _, _ := r.trace.snapshot()
	r.res.Path, r.res.Outcome, r.res.User, r.res.Reason = path, r.outcome, r.user, r.reason
	if r.res.Outcome == "" {
		r.res.Outcome = "suspended"
	}
	if err != nil {
		r.fail(sc.DeclRange, "the scenario could not run: %v", err)
	} else if !r.stepFailedEarly {
		r.checkExpect()
	}
	for _, f := range r.trace.faults {
		r.fail(sc.DeclRange, "node fault: %s", f)
	}
	rn.mu.Lock()
	for e := range r.trace.edges {
		rn.covered[e] = true
	}
	rn.mu.Unlock()
	r.res.Duration = time.Since(start)
	return r.res
}

func (r *run) fail(rng hcl.Range, format string, args ...any) *Failure {
	r.res.Failures = append(r.res.Failures, Failure{Message: fmt.Sprintf(format, args...), Range: rng})
	return &r.res.Failures[len(r.res.Failures)-1]
}

// failStep records a failure that stops the scenario: what follows would
// only be noise.
func (r *run) failStep(st *Step, format string, args ...any) {
	r.fail(st.DeclRange, "step %d: "+format, append([]any{st.Index}, args...)...)
	r.stepFailedEarly = true
}

// runAPI drives the engine as the journey API does: Start, then one Resume
// per step with the step's answers as callback values.
func (r *run) runAPI(ctx context.Context) error {
	sc := r.sc
	r.req = engine.Request{Protocol: engine.FrontendAPI, ClientIP: sc.ClientIP, UserAgent: sc.UserAgent, Locale: sc.Locale}
	realm := sc.Realm
	if realm == "" {
		if j := r.prog.Journeys[sc.Journey]; j != nil {
			realm = j.Realm
		}
	}
	resp, err := r.eng.Start(ctx, realm, sc.Journey, r.req)
	if err != nil {
		return err
	}
	r.apiView(resp)
	for _, st := range sc.Steps {
		if resp.Done {
			r.failStep(st, "the journey already ended (%s) before this step", resp.Outcome)
			return nil
		}
		r.checkView(st)
		r.prepare(st)
		ans, ok := r.answers(st, resp.Callbacks)
		if !ok {
			return nil
		}
		var cbs []engine.Callback
		for _, cb := range resp.Callbacks {
			v, ok := ans[cb.ID]
			if !ok {
				continue
			}
			v2 := v
			cbs = append(cbs, engine.Callback{ID: cb.ID, Value: &v2})
			delete(ans, cb.ID)
		}
		if len(ans) > 0 {
			r.failStep(st, "the journey does not ask for %s at node %s (it asks for %s)", keyList(ans), resp.Node, callbackIDs(resp.Callbacks))
			return nil
		}
		next, err := r.eng.Resume(ctx, resp.Session, cbs, r.req)
		var ae *engine.AnswerError
		switch {
		case errors.As(err, &ae):
			r.failStep(st, "the answer was refused: %v", err)
			return nil
		case errors.Is(err, engine.ErrSessionExpired):
			r.done, r.outcome, r.reason = true, OutcomeExpired, "the session expired (session_timeout)"
			return nil
		case err != nil:
			return err
		}
		resp = next
		r.apiView(resp)
	}
	return nil
}

func (r *run) apiView(resp *engine.Response) {
	if resp.Done {
		r.done, r.outcome, r.user, r.reason = true, string(resp.Outcome), resp.User, resp.Reason
		return
	}
	_, node, _, _ := r.trace.snapshot()
	r.view = viewOf(node, resp.Callbacks)
}

// viewOf is a suspension as a client sees it: the node, the callbacks,
// and every prompt and message among them.
func viewOf(node string, cbs []engine.Callback) view {
	v := view{node: node, callbacks: cbs}
	for _, cb := range cbs {
		for _, s := range []string{cb.Prompt, cb.Message} {
			if s != "" {
				v.prompts = append(v.prompts, s)
			}
		}
	}
	return v
}

// checkView compares the suspension a step answers with what it expects.
func (r *run) checkView(st *Step) {
	v := r.view
	if st.ExpectNode != "" && st.ExpectNode != v.node && !strings.HasSuffix(v.node, "."+st.ExpectNode) {
		r.fail(st.ranges["expect_node"], "step %d: the journey waits at node %s, not %s", st.Index, v.node, st.ExpectNode)
	}
	if st.ExpectPrompt != "" {
		found := false
		for _, p := range v.prompts {
			if strings.Contains(p, st.ExpectPrompt) {
				found = true
			}
		}
		if !found {
			shown := "nothing"
			if len(v.prompts) > 0 {
				shown = fmt.Sprintf("%q", v.prompts)
			}
			r.fail(st.ranges["expect_prompt"], "step %d: no prompt contains %q; shown: %s", st.Index, st.ExpectPrompt, shown)
		}
	}
	if st.ExpectCallbacks != nil {
		got := make([]string, len(v.callbacks))
		for i, cb := range v.callbacks {
			got[i] = cb.Type
		}
		if strings.Join(got, ",") != strings.Join(st.ExpectCallbacks, ",") {
			r.fail(st.ranges["expect_callbacks"], "step %d: the journey asks %v, not %v", st.Index, got, st.ExpectCallbacks)
		}
	}
}

// prepare lets time pass and the phones act before the step's request.
func (r *run) prepare(st *Step) {
	if st.Advance > 0 {
		r.clock.Advance(st.Advance)
	}
	if st.Device != nil {
		r.phones.Behave(*st.Device, r.clock.Now())
	}
}

// answers evaluates the step's answer object into callback id = value.
func (r *run) answers(st *Step, cbs []engine.Callback) (map[string]string, bool) {
	out := map[string]string{}
	if st.Answer == nil {
		return out, true
	}
	v, diags := st.Answer.Value(r.answerContext(cbs))
	if diags.HasErrors() {
		r.fail(st.ranges["answer"], "step %d: the answer cannot be evaluated: %s", st.Index, diagText(diags))
		r.stepFailedEarly = true
		return nil, false
	}
	if v.IsNull() {
		return out, true
	}
	if !v.Type().IsObjectType() && !v.Type().IsMapType() {
		r.fail(st.ranges["answer"], "step %d: answer is an object of callback id = value, not %s", st.Index, v.Type().FriendlyName())
		r.stepFailedEarly = true
		return nil, false
	}
	for k, e := range v.AsValueMap() {
		if e.IsNull() {
			continue
		}
		s, err := convert.Convert(e, cty.String)
		if err != nil {
			r.fail(st.ranges["answer"], "step %d: the answer %s must be a string (or number), not %s", st.Index, k, e.Type().FriendlyName())
			r.stepFailedEarly = true
			return nil, false
		}
		out[k] = s.AsString()
	}
	return out, true
}

func diagText(diags hcl.Diagnostics) string {
	var parts []string
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			s := d.Summary
			if d.Detail != "" {
				s += ": " + d.Detail
			}
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "; ")
}

func callbackIDs(cbs []engine.Callback) string {
	var ids []string
	for _, cb := range cbs {
		if cb.NeedsAnswer() || cb.Type == engine.CallbackWait {
			ids = append(ids, cb.ID)
		}
	}
	if len(ids) == 0 {
		return "nothing"
	}
	return strings.Join(ids, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Load reads the configuration in dir and its scenario files, and checks
// them against each other. files holds every source (configuration and
// scenarios) for diagnostic snippets. cfg and s are nil when there were
// errors.
func Load(dir string, opts dsl.Options) (cfg *dsl.Config, s *Suite, files map[string]*hcl.File, diags hcl.Diagnostics) {
	files = map[string]*hcl.File{}
	cfg, all := dsl.Load([]string{dir}, opts)
	// Warnings about the configuration are validate's to print; a test
	// run shows its errors only (it cannot run on them).
	for _, d := range all {
		if d.Severity == hcl.DiagError {
			diags = append(diags, d)
		}
	}
	if cfg != nil {
		for n, f := range cfg.Files {
			files[n] = f
		}
	}
	names, err := Find(dir)
	if err != nil {
		return nil, nil, files, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cannot read scenario files",
			Detail:   fmt.Sprintf("Listing %q: %v.", dir, err),
		})
	}
	s, ds := Parse(dir, names)
	for n, f := range s.Files {
		files[n] = f
	}
	if !diags.HasErrors() {
		// Checked against the configuration even when a file has errors,
		// so one run shows every mistake.
		ds = append(ds, Check(cfg, s)...)
	}
	sort.SliceStable(ds, func(i, j int) bool { return before(ds[i].Subject, ds[j].Subject) })
	diags = append(diags, ds...)
	if diags.HasErrors() {
		return nil, nil, files, diags
	}
	return cfg, s, files, diags
}

// before orders diagnostics by file and position; those without a
// position come first.
func before(a, b *hcl.Range) bool {
	switch {
	case a == nil || b == nil:
		return a == nil && b != nil
	case a.Filename != b.Filename:
		return a.Filename < b.Filename
	}
	return a.Start.Byte < b.Start.Byte
}
