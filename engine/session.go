package engine

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// Session is one run of a journey. It is what the store keeps between
// requests: everything a resume needs, and nothing secret (passwords live in
// the Context's transient values and die with the request).
type Session struct {
	ID       string `json:"id"`
	Realm    string `json:"realm"`
	Journey  string `json:"journey"`
	Revision string `json:"revision"`
	// Node is the node to run, or the one that suspended.
	Node string `json:"node"`
	// User is the user name once a node has established it.
	User string `json:"user,omitempty"`
	// State is the journey's shared state.
	State map[string]cty.Value `json:"-"`
	// Counters are per-node counters (retry_limit passes, resends...).
	Counters map[string]int `json:"counters,omitempty"`
	// Data is per-node scratch a node keeps across its own suspensions.
	Data map[string]string `json:"data,omitempty"`
	// Pending are the callbacks of the suspension, with ids assigned.
	Pending []Callback `json:"pending,omitempty"`
	// Stack holds the callers while an inner journey runs.
	Stack []Frame `json:"stack,omitempty"`
	// Path lists the nodes visited, in order.
	Path []string `json:"path,omitempty"`
	// Trail lists the nodes that ended with an outcome, with the outcome,
	// for the audit log's reason ("chosen push"); the newest MaxTrail.
	Trail   []Step    `json:"trail,omitempty"`
	Steps   int       `json:"steps"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	// Until is the deadline of a wait, when the session waits for time.
	Until    time.Time `json:"until,omitempty"`
	Finished bool      `json:"finished,omitempty"`
	Outcome  Outcome   `json:"outcome,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	// Origin is the request that started the session, without credentials.
	Origin Request `json:"origin"`
	// Version increases with every save; a stale save is refused.
	Version uint64 `json:"version"`
}

// Frame is a caller waiting for an inner journey to end.
type Frame struct {
	Journey  string `json:"journey"`
	Revision string `json:"revision"`
	Node     string `json:"node"`
}

// stateEntry is how one shared-state value is serialised: go-cty's JSON for
// the type and the value, so any value round-trips exactly.
type stateEntry struct {
	Type  json.RawMessage `json:"type"`
	Value json.RawMessage `json:"value"`
}

type sessionJSON struct {
	*sessionAlias
	State map[string]stateEntry `json:"state,omitempty"`
}

type sessionAlias Session

// MarshalJSON encodes the session with its cty state.
func (s *Session) MarshalJSON() ([]byte, error) {
	out := sessionJSON{sessionAlias: (*sessionAlias)(s)}
	if len(s.State) > 0 {
		out.State = make(map[string]stateEntry, len(s.State))
		for k, v := range s.State {
			ty, err := ctyjson.MarshalType(v.Type())
			if err != nil {
				return nil, fmt.Errorf("state %q: %w", k, err)
			}
			val, err := ctyjson.Marshal(v, v.Type())
			if err != nil {
				return nil, fmt.Errorf("state %q: %w", k, err)
			}
			out.State[k] = stateEntry{Type: ty, Value: val}
		}
	}
	return json.Marshal(out)
}

// UnmarshalJSON decodes a session written by MarshalJSON.
func (s *Session) UnmarshalJSON(b []byte) error {
	in := sessionJSON{sessionAlias: (*sessionAlias)(s)}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	s.State = make(map[string]cty.Value, len(in.State))
	for k, e := range in.State {
		ty, err := ctyjson.UnmarshalType(e.Type)
		if err != nil {
			return fmt.Errorf("state %q: %w", k, err)
		}
		v, err := ctyjson.Unmarshal(e.Value, ty)
		if err != nil {
			return fmt.Errorf("state %q: %w", k, err)
		}
		s.State[k] = v
	}
	return nil
}

// NewID returns an unguessable identifier: 192 random bits, URL-safe.
func NewID() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("engine: no randomness: " + err.Error()) // crypto/rand never fails on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
