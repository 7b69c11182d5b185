package engine

import "time"

// Response is what a Start or Resume call produced: a suspension with
// callbacks, or a finished journey.
type Response struct {
	// Session is the id to resume with; empty once Done.
	Session   string
	Journey   string
	Node      string
	Callbacks []Callback
	// Until is the deadline of a wait callback.
	Until   time.Time
	Done    bool
	Outcome Outcome
	// User is the established user; front ends must not reveal it on
	// failure (failure answers never say whether the user exists).
	User   string
	Reason string
	Path   []string
	// State is the final shared state, for front ends that render replies
	// from it (RADIUS reply attributes, token claims).
	State *Session
}
