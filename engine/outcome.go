package engine

// Outcome names an edge leaving a node. Node types declare the outcomes
// their settings produce; dsl checks that each is wired.
type Outcome string

// The terminals every journey ends on. A node may not be named after one.
const (
	Success Outcome = "success"
	Failure Outcome = "failure"
)

// IsTerminal reports whether name is one of the journey terminals rather
// than a node; node names that collide with terminals are rejected by dsl.
func IsTerminal(name string) bool {
	return name == string(Success) || name == string(Failure)
}
