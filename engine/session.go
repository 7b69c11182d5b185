package engine

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

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
		v, err := e.decode()
		if err != nil {
			return fmt.Errorf("state %q: %w", k, err)
		}
		s.State[k] = v
	}
	return nil
}

// decode returns the entry's value. Every resume and every long poll
// decodes its session, and go-cty's codec builds a json.Decoder with its
// read buffer twice per entry (type, then value): that was four fifths of
// a push login's decode. Nearly every value a journey keeps is a string,
// a number or a bool, written by MarshalJSON in one canonical form, so
// those are decoded here directly, exactly as go-cty would; anything else,
// including a primitive in a form MarshalJSON does not write, goes to
// go-cty.
func (e stateEntry) decode() (cty.Value, error) {
	if v, ok := e.decodePrimitive(); ok {
		return v, nil
	}
	ty, err := ctyjson.UnmarshalType(e.Type)
	if err != nil {
		return cty.NilVal, err
	}
	return ctyjson.Unmarshal(e.Value, ty)
}

// decodePrimitive is decode's fast path; false leaves the entry to go-cty.
func (e stateEntry) decodePrimitive() (cty.Value, bool) {
	var ty cty.Type
	switch string(e.Type) {
	case `"string"`:
		ty = cty.String
	case `"number"`:
		ty = cty.Number
	case `"bool"`:
		ty = cty.Bool
	default:
		return cty.NilVal, false
	}
	raw := e.Value
	switch {
	case len(raw) == 0:
		return cty.NilVal, false
	case string(raw) == "null":
		return cty.NullVal(ty), true
	}
	switch ty {
	case cty.String:
		if s, ok := jsonString(raw); ok {
			return cty.StringVal(s), true
		}
	case cty.Number:
		if raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9' {
			// go-cty parses a JSON number's text the same way.
			if v, err := cty.ParseNumberVal(string(raw)); err == nil {
				return v, true
			}
		}
	case cty.Bool:
		switch string(raw) {
		case "true":
			return cty.True, true
		case "false":
			return cty.False, true
		}
	}
	return cty.NilVal, false
}

// jsonString returns the string a JSON string literal holds. A literal
// with nothing to unescape (the common case) is sliced; one with escapes,
// control or non-UTF-8 bytes goes through encoding/json, as go-cty's own
// decoder would.
func jsonString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	plain := true
	for _, c := range body {
		if c == '\\' || c == '"' || c < 0x20 {
			plain = false
			break
		}
	}
	if plain && utf8.Valid(body) {
		return string(body), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// NewID returns an unguessable identifier: 192 random bits, URL-safe.
func NewID() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("engine: no randomness: " + err.Error()) // crypto/rand never fails on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
