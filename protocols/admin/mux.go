package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Peer is who is on the other end of a connection, from the kernel's peer
// credentials; the zero Peer (UID -1) means "in-process" (Local).
type Peer struct {
	UID int
	PID int
}

// Request is one call as a handler sees it.
type Request struct {
	Op   string
	Args json.RawMessage
	Peer Peer
}

// Handler answers admin calls. The result is encoded as JSON; an error
// travels as its one-line message (an *Error chooses its code).
type Handler interface {
	ServeAdmin(ctx context.Context, r *Request) (any, error)
}

// OpFunc is one operation.
type OpFunc func(ctx context.Context, r *Request) (any, error)

// Mux routes calls to operations registered by name. It is safe for
// concurrent use, and operations may be added while it serves (a feature
// that starts late registers its ops then).
type Mux struct {
	mu  sync.RWMutex
	ops map[string]OpFunc
}

// NewMux returns a Mux that knows only "ping" (answering a Pong with no
// version; servers usually register their own ping).
func NewMux() *Mux {
	m := &Mux{ops: map[string]OpFunc{}}
	m.Handle("ping", Typed(func(context.Context, struct{}) (Pong, error) { return Pong{}, nil }))
	return m
}

// Pong is the answer to "ping".
type Pong struct {
	Version string `json:"version,omitempty"`
	PID     int    `json:"pid,omitempty"`
}

// Handle registers (or replaces) the operation named op.
func (m *Mux) Handle(op string, f OpFunc) {
	if op == "" || f == nil {
		panic("admin: Handle needs an op name and a function")
	}
	m.mu.Lock()
	m.ops[op] = f
	m.mu.Unlock()
}

// Ops returns the registered operation names, sorted.
func (m *Mux) Ops() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	names := make([]string, 0, len(m.ops))
	for n := range m.ops {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ServeAdmin runs the operation r.Op.
func (m *Mux) ServeAdmin(ctx context.Context, r *Request) (any, error) {
	m.mu.RLock()
	f := m.ops[r.Op]
	m.mu.RUnlock()
	if f == nil {
		return nil, Errorf(CodeUnknownOp, "unknown admin operation %q (this server knows %s)", r.Op, strings.Join(m.Ops(), ", "))
	}
	return f(ctx, r)
}

// Typed adapts a function over typed arguments to an OpFunc: the request's
// arguments are decoded into In (unknown fields rejected, so a typo in a
// newer client fails loudly instead of being ignored).
func Typed[In, Out any](f func(ctx context.Context, in In) (Out, error)) OpFunc {
	return func(ctx context.Context, r *Request) (any, error) {
		var in In
		if len(bytes.TrimSpace(r.Args)) > 0 && !bytes.Equal(bytes.TrimSpace(r.Args), []byte("null")) {
			dec := json.NewDecoder(bytes.NewReader(r.Args))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&in); err != nil {
				return nil, Errorf(CodeInvalid, "%s: bad arguments: %v", r.Op, err)
			}
		}
		out, err := f(ctx, in)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

// Caller is what admin commands talk to: a *Client over the socket, or
// Local in-process when no server runs.
type Caller interface {
	Call(op string, in, out any) error
}

// Local returns a Caller that runs h in this process with the same JSON
// round trip as the socket, so both paths behave alike.
func Local(h Handler) Caller { return localCaller{h} }

type localCaller struct{ h Handler }

func (l localCaller) Call(op string, in, out any) error {
	args, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("admin: encoding %s arguments: %w", op, err)
	}
	res, err := l.h.ServeAdmin(context.Background(), &Request{Op: op, Args: args, Peer: Peer{UID: -1}})
	if err != nil {
		return toError(err)
	}
	return decodeResult(op, res, out)
}

func decodeResult(op string, res, out any) error {
	if out == nil {
		return nil
	}
	b, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("admin: encoding %s result: %w", op, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("admin: decoding %s result: %w", op, err)
	}
	return nil
}
