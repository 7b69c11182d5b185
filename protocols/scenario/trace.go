package scenario

import (
	"context"
	"sync"

	"github.com/authd/authd/engine"
)

// Edge is one outcome edge of a journey: Node left by Outcome.
type Edge struct {
	Journey string
	Node    string
	Outcome string
	Target  string // a node of the same journey, "success" or "failure"
}

// tracer wraps every node of a program so each Process call is seen,
// whatever front end drives the engine: the API runner, the RADIUS server
// or the OAuth provider all run journeys through the same nodes, and
// neither RADIUS packets nor tokens say which path a login took.
type tracer struct {
	prog   *engine.Program
	traces sync.Map // *engine.Services -> *trace: one engine per scenario
}

// trace is what one scenario's journey did.
type trace struct {
	mu sync.Mutex
	// top is the journey the scenario started (the first one entered).
	top string
	// path lists the nodes entered, inner journeys' as "journey.node".
	path []string
	// edges are the outcome edges followed.
	edges map[Edge]bool
	stack []frame
	// session is the last session a node ran in: its State and User are
	// the journey's final ones once it ended.
	session *engine.Session
	// node and callbacks are the last suspension.
	node      string
	callbacks []engine.Callback
	faults    []string
}

type frame struct{ journey, node string }

// wrap returns a copy of p whose nodes report to t. p is not changed.
func (t *tracer) wrap(p *engine.Program) *engine.Program {
	np := &engine.Program{Revision: p.Revision, Realms: p.Realms, Journeys: make(map[string]*engine.Journey, len(p.Journeys))}
	for name, j := range p.Journeys {
		cj := *j
		cj.Nodes = make(map[string]*engine.CompiledNode, len(j.Nodes))
		for n, cn := range j.Nodes {
			c := *cn
			c.Node = &tracedNode{inner: cn.Node, journey: name, node: n, t: t}
			cj.Nodes[n] = &c
		}
		np.Journeys[name] = &cj
	}
	t.prog = np
	return np
}

func (t *tracer) start(svc *engine.Services) *trace {
	tr := &trace{edges: map[Edge]bool{}}
	t.traces.Store(svc, tr)
	return tr
}

func (t *tracer) stop(svc *engine.Services) { t.traces.Delete(svc) }

type tracedNode struct {
	inner         engine.Node
	journey, node string
	t             *tracer
}

// Process runs the node and records what it did.
func (n *tracedNode) Process(ctx context.Context, nc *engine.Context) (engine.Result, error) {
	v, ok := n.t.traces.Load(nc.Services)
	if !ok {
		return n.inner.Process(ctx, nc)
	}
	tr := v.(*trace)
	if !nc.Resumed() {
		tr.enter(n.journey, n.node)
	}
	res, err := n.inner.Process(ctx, nc)
	tr.leave(n.t.prog, n.journey, n.node, nc.Session, res, err)
	return res, err
}

func (tr *trace) enter(journey, node string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.top == "" {
		tr.top = journey
	}
	tr.path = append(tr.path, tr.qualify(journey, node))
}

func (tr *trace) qualify(journey, node string) string {
	if journey == tr.top {
		return node
	}
	return journey + "." + node
}

func (tr *trace) leave(p *engine.Program, journey, node string, s *engine.Session, res engine.Result, err error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.session = s
	switch {
	case err != nil:
		tr.faults = append(tr.faults, tr.qualify(journey, node)+": "+err.Error())
	case len(res.Callbacks) > 0:
		tr.node = tr.qualify(journey, node)
		tr.callbacks = res.Callbacks
	case res.Enter != "":
		tr.stack = append(tr.stack, frame{journey, node})
	case res.Outcome != "":
		// The engine follows a terminal out of an inner journey along the
		// caller's edge without running the caller again; mirror that.
		o := res.Outcome
		for {
			j := p.Journeys[journey]
			if j == nil || j.Nodes[node] == nil {
				return
			}
			target := j.Nodes[node].Edges[o]
			tr.edges[Edge{Journey: journey, Node: node, Outcome: string(o), Target: target}] = true
			if !engine.IsTerminal(target) || len(tr.stack) == 0 {
				return
			}
			f := tr.stack[len(tr.stack)-1]
			tr.stack = tr.stack[:len(tr.stack)-1]
			journey, node, o = f.journey, f.node, engine.Outcome(target)
		}
	}
}

// snapshot copies what the runner reads after a request.
func (tr *trace) snapshot() (path []string, node string, cbs []engine.Callback, s *engine.Session) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.path...), tr.node, tr.callbacks, tr.session
}

var _ engine.Node = (*tracedNode)(nil)
