package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/authd/authd/engine/users"
)

// Context is what a node sees while it runs for one session: the session's
// state, the answers to its own callbacks, the request and the services.
type Context struct {
	Session  *Session
	Journey  *Journey
	Realm    *Realm
	Node     *CompiledNode
	Request  *Request
	Services *Services
	// answers are the callbacks this node suspended with, filled in by the
	// client; nil when the node is entered afresh.
	answers   []Callback
	now       time.Time
	transient map[string]string
	user      *users.User
	// The values of the runtime variables, built on first use and kept
	// for the rest of this step (a node may evaluate several
	// expressions); SetUser, SetState and DeleteState drop the one they
	// change. cty.NilVal: not built yet.
	userVal, requestVal, stateVal cty.Value
}

// Now is the engine's clock reading for this step.
func (c *Context) Now() time.Time { return c.now }

// Resumed reports whether the node is being resumed with answers to its own
// callbacks, as opposed to entered along an edge.
func (c *Context) Resumed() bool { return c.answers != nil }

// Answer returns the value the client gave for the callback with id.
func (c *Context) Answer(id string) (string, bool) {
	for _, cb := range c.answers {
		if cb.ID == id {
			return cb.Answer(), cb.Value != nil
		}
	}
	return "", false
}

// Answers returns the answered callbacks in the order they were asked.
func (c *Context) Answers() []Callback { return c.answers }

// Transient returns a value that lives only for this request (a password
// between the node that asks it and the node that checks it).
func (c *Context) Transient(key string) string { return c.transient[key] }

// SetTransient keeps a value for the rest of this request only; it is never
// stored.
func (c *Context) SetTransient(key, value string) {
	if c.transient == nil {
		c.transient = map[string]string{}
	}
	c.transient[key] = value
}

// State returns a shared-state value, or cty.NullVal(DynamicPseudoType).
func (c *Context) State(key string) cty.Value {
	if v, ok := c.Session.State[key]; ok {
		return v
	}
	return cty.NullVal(cty.DynamicPseudoType)
}

// SetState writes a shared-state value.
func (c *Context) SetState(key string, v cty.Value) {
	if c.Session.State == nil {
		c.Session.State = map[string]cty.Value{}
	}
	c.Session.State[key] = v
	c.stateVal = cty.NilVal
}

// DeleteState removes a shared-state value.
func (c *Context) DeleteState(key string) {
	delete(c.Session.State, key)
	c.stateVal = cty.NilVal
}

// Counter returns this node's counter (e.g. passes through retry_limit).
func (c *Context) Counter() int { return c.Session.Counters[c.Node.Name] }

// SetCounter stores this node's counter.
func (c *Context) SetCounter(n int) {
	if c.Session.Counters == nil {
		c.Session.Counters = map[string]int{}
	}
	c.Session.Counters[c.Node.Name] = n
}

// Data returns this node's scratch value, kept across its suspensions.
func (c *Context) Data() string { return c.Session.Data[c.Node.Name] }

// SetData stores this node's scratch value; "" removes it.
func (c *Context) SetData(v string) {
	if v == "" {
		delete(c.Session.Data, c.Node.Name)
		return
	}
	if c.Session.Data == nil {
		c.Session.Data = map[string]string{}
	}
	c.Session.Data[c.Node.Name] = v
}

// UserName is the user the journey has established, or "".
func (c *Context) UserName() string { return c.Session.User }

// SetUser establishes the user the journey is about.
func (c *Context) SetUser(name string) {
	if name != c.Session.User {
		c.user = nil
		c.userVal = cty.NilVal
	}
	c.Session.User = name
}

// User loads the established user from the realm. It returns
// users.ErrNotFound when there is none (or no such account).
func (c *Context) User() (*users.User, error) {
	if c.Session.User == "" {
		return nil, users.ErrNotFound
	}
	if c.user != nil {
		return c.user, nil
	}
	if c.Services == nil || c.Services.Users == nil {
		return nil, errors.New("engine: no user store configured")
	}
	u, err := c.Services.Users.Get(c.Session.Realm, c.Session.User)
	if err != nil {
		return nil, err
	}
	c.user = u
	return u, nil
}

// Log is the logger for this step, tagged with session, journey and node.
// Never log secrets through it.
func (c *Context) Log() *slog.Logger {
	l := slog.Default()
	if c.Services != nil && c.Services.Log != nil {
		l = c.Services.Log
	}
	l = l.With("session", shortID(c.Session.ID), "journey", c.Journey.Name, "node", c.Node.Name)
	if c.Request != nil && c.Request.RequestID != "" {
		l = l.With("request_id", c.Request.RequestID)
	}
	return l
}

// EvalContext returns the variables and functions of runtime expressions
// for the current step.
func (c *Context) EvalContext() *hcl.EvalContext {
	return RuntimeEvalContext(c.cachedUser(), c.cachedRequest(), c.cachedState(), c.now.UTC().Format(time.RFC3339))
}

// Eval evaluates a runtime expression of the node's settings. Only the
// variables the expression reads are built: a condition on user.name
// alone (the commonest, and on every RADIUS request of a no-password
// policy) neither loads the user from the store nor builds the request
// and state objects, which cost more than the evaluation itself.
func (c *Context) Eval(expr hcl.Expression) (cty.Value, error) {
	v, diags := expr.Value(c.evalContextFor(expr))
	if diags.HasErrors() {
		return cty.NilVal, fmt.Errorf("%s: %s", expr.Range(), diagSummary(diags))
	}
	return v, nil
}

// evalContextFor is EvalContext restricted to the variables expr reads. A
// variable it does not read is absent, which an expression cannot tell
// from present; a variable it reads has the same value as in EvalContext,
// except that a `user` read only as user.name is an object of the name
// alone.
func (c *Context) evalContextFor(expr hcl.Expression) *hcl.EvalContext {
	r := readsOf(expr)
	vars := make(map[string]cty.Value, 4)
	switch {
	case r.user || r.userName && c.userVal != cty.NilVal:
		vars["user"] = c.cachedUser()
	case r.userName:
		vars["user"] = cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(c.Session.User)})
	}
	if r.request {
		vars["request"] = c.cachedRequest()
	}
	if r.state {
		vars["state"] = c.cachedState()
	}
	if r.now {
		vars["now"] = cty.StringVal(c.now.UTC().Format(time.RFC3339))
	}
	return &hcl.EvalContext{Variables: vars, Functions: runtimeFunctions}
}

// reads is what an expression reads of the runtime variables.
type reads struct {
	user     bool // more of user than its name
	userName bool // user.name
	request  bool
	state    bool
	now      bool
}

// readsCache keeps readsOf per expression: expressions live as long as
// their configuration and are evaluated on every request, and walking one
// for its variables allocates more than evaluating it. It is emptied when
// it grows past readsCacheMax, so reloads cannot grow it without bound.
var (
	readsCache    sync.Map // hcl.Expression (a pointer) -> reads
	readsCacheLen atomic.Int64
)

const readsCacheMax = 1 << 14

func readsOf(expr hcl.Expression) reads {
	cacheable := reflect.ValueOf(expr).Kind() == reflect.Pointer
	if cacheable {
		if r, ok := readsCache.Load(expr); ok {
			return r.(reads)
		}
	}
	var r reads
	for _, tr := range expr.Variables() {
		switch tr.RootName() {
		case "user":
			if readsOnlyName(tr) {
				r.userName = true
			} else {
				r.user = true
			}
		case "request":
			r.request = true
		case "state":
			r.state = true
		case "now":
			r.now = true
		}
	}
	if cacheable {
		if readsCacheLen.Add(1) > readsCacheMax {
			readsCache.Clear()
			readsCacheLen.Store(1)
		}
		readsCache.Store(expr, r)
	}
	return r
}

// readsOnlyName reports whether a traversal rooted at user reads its name
// and nothing else of it (user.name, user["name"]).
func readsOnlyName(tr hcl.Traversal) bool {
	if len(tr) < 2 {
		return false
	}
	switch s := tr[1].(type) {
	case hcl.TraverseAttr:
		return s.Name == "name"
	case hcl.TraverseIndex:
		k := s.Key
		return k.IsKnown() && !k.IsNull() && k.Type() == cty.String && k.AsString() == "name"
	}
	return false
}

func (c *Context) cachedUser() cty.Value {
	if c.userVal == cty.NilVal {
		c.userVal = c.userValue()
	}
	return c.userVal
}

func (c *Context) cachedRequest() cty.Value {
	if c.requestVal == cty.NilVal {
		c.requestVal = c.requestValue()
	}
	return c.requestVal
}

func (c *Context) cachedState() cty.Value {
	if c.stateVal == cty.NilVal {
		c.stateVal = c.stateValue()
	}
	return c.stateVal
}

func diagSummary(diags hcl.Diagnostics) string {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			if d.Detail != "" {
				return d.Summary + ": " + d.Detail
			}
			return d.Summary
		}
	}
	return "error"
}

func (c *Context) userValue() cty.Value {
	u, err := c.User()
	if err != nil {
		u = nil
	}
	return UserValue(c.Session.User, u, c.Journey.AttributeKeys)
}

func (c *Context) requestValue() cty.Value {
	r := c.Request
	if r == nil {
		r = &c.Session.Origin
	}
	return RequestValue(r)
}

func (c *Context) stateValue() cty.Value { return StateValue(c.Session.State, c.Journey.StateKeys) }

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
