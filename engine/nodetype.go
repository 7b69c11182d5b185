package engine

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// Node is a configured node of a compiled journey. Process either returns an
// Outcome to follow or suspends with Callbacks; an error is a fault (a store
// failure, a bug), never "access denied", which is an outcome like any other.
// Nodes are shared by every session of a journey revision and must keep no
// per-session data of their own: that lives in the Context.
type Node interface {
	Process(ctx context.Context, nc *Context) (Result, error)
}

// Result is what a node decided. Exactly one of Outcome, Callbacks or Enter
// is set.
type Result struct {
	Outcome   Outcome    // follow this edge
	Callbacks []Callback // suspend and ask
	Enter     string     // run this journey as a sub-journey, then resume with its terminal as the outcome
	// Reason says why, for logs and the audit trail; front ends never show
	// it to the user on failure.
	Reason string
}

// Next is shorthand for a result that follows an outcome.
func Next(o Outcome) Result { return Result{Outcome: o} }

// Ask is shorthand for a result that suspends with callbacks.
func Ask(cbs ...Callback) Result { return Result{Callbacks: cbs} }

// Fact is something a path through a journey establishes, such as a known
// user or a sent push. dsl checks that a node's Requires hold on every path
// that reaches it.
type Fact string

// Facts the built-in node types establish and depend on.
const (
	FactUser     Fact = "user"      // a user name is known
	FactPushSent Fact = "push_sent" // a push message is outstanding
)

// Front ends a journey can be served by.
const (
	FrontendAPI    = "api"
	FrontendRADIUS = "radius"
	FrontendOAuth  = "oauth"
)

// NodeType describes a kind of node once: its settings, the outcomes those
// settings produce and how to build it. dsl validates a journey through this
// description alone, so adding a node type touches no other package.
type NodeType struct {
	// Name is the type label in HCL: node "NAME" "x" { ... }.
	Name string
	// Summary is one line for `authd graph` and the docs.
	Summary string
	// Config returns a fresh pointer to the settings struct, decoded by gohcl
	// from the node block (less the meta-arguments next and outcomes). Fields
	// of type hcl.Expression are runtime expressions: dsl checks their
	// references and nodes evaluate them with Context.EvalContext. Nil means
	// the node takes no settings.
	Config func() any
	// Outcomes lists the outcomes the settings produce, in display order.
	Outcomes func(cfg any) []Outcome
	// New builds the node from decoded settings. A *SettingError (or
	// SettingErrors) points dsl at the attribute at fault.
	New func(cfg any) (Node, error)
	// Interactive is true when the node may suspend for input or time, which
	// breaks an otherwise runaway loop.
	Interactive bool
	// NotOver lists front ends that cannot render this node (e.g. a QR code
	// over RADIUS).
	NotOver []string
	// Requires lists facts that must hold on every path reaching the node.
	Requires []Fact
	// Provides returns the facts established when the node leaves by o.
	Provides func(cfg any, o Outcome) []Fact
	// StateKeys returns the shared-state keys the node writes, so dsl can
	// check every state.K reference in the journey.
	StateKeys func(cfg any) []string
	// Warnings returns advisory findings about the settings (dsl prints them
	// with the node's position); it is optional.
	Warnings func(cfg any) []*SettingError
}

var (
	registryMu sync.RWMutex
	registry   = map[string]*NodeType{}
)

// Register adds a node type. It panics on a duplicate or incomplete
// registration: that is a wiring bug caught at start-up, never user input.
func Register(t *NodeType) {
	if t == nil || t.Name == "" || t.Outcomes == nil || t.New == nil {
		panic("engine: incomplete node type registration")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[t.Name]; dup {
		panic(fmt.Sprintf("engine: node type %q registered twice", t.Name))
	}
	registry[t.Name] = t
}

// LookupNodeType returns the registered type called name.
func LookupNodeType(name string) (*NodeType, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	t, ok := registry[name]
	return t, ok
}

// NodeTypes returns every registered type, sorted by name so output that
// lists them is deterministic.
func NodeTypes() []*NodeType {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]*NodeType, 0, len(registry))
	for _, t := range registry {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// FixedOutcomes is an Outcomes function for types whose outcomes do not
// depend on their settings.
func FixedOutcomes(os ...Outcome) func(any) []Outcome {
	return func(any) []Outcome { return append([]Outcome(nil), os...) }
}

// SettingError is a problem with one node setting. Setting names the HCL
// attribute so dsl can point at its line; Warning marks advice rather than
// an error.
type SettingError struct {
	Setting string
	Message string
	Warning bool
}

func (e *SettingError) Error() string {
	if e.Setting == "" {
		return e.Message
	}
	return e.Setting + ": " + e.Message
}

// SettingErrors is several setting problems reported at once.
type SettingErrors []*SettingError

func (es SettingErrors) Error() string {
	if len(es) == 0 {
		return "no errors"
	}
	s := es[0].Error()
	if len(es) > 1 {
		s += fmt.Sprintf(" (and %d more)", len(es)-1)
	}
	return s
}
