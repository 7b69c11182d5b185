package engine

import (
	"time"

	"github.com/authd/authd/engine/users"
)

// Program is the part of a compiled configuration the engine runs: realms
// and journeys. It is immutable once built; a reload builds a new one.
type Program struct {
	// Revision is a content hash of the whole configuration.
	Revision string
	Realms   map[string]*Realm
	Journeys map[string]*Journey
}

// Realm is a population of users with its own policies.
type Realm struct {
	Name           string
	DisplayName    string
	EnrollmentMode string // single_device | override_allowed | multiple_devices
	DefaultLocale  string
	PushProviders  []string // names of push_provider blocks
	SMSGateway     string   // name of an sms_gateway block, or ""
	Lockout        *Lockout // nil: no lockout
}

// Lockout is the realm's account lockout policy.
type Lockout = users.Lockout

// DefaultSessionTimeout is how long a suspended session lives when the
// journey does not say.
const DefaultSessionTimeout = 10 * time.Minute

// Journey is a compiled graph of nodes.
type Journey struct {
	Name        string
	Realm       string
	Description string
	Start       string
	Nodes       map[string]*CompiledNode
	// SessionTimeout bounds a session from its start.
	SessionTimeout time.Duration
	// Revision is a content hash of this journey and everything it reaches
	// (inner journeys included); sessions pin it.
	Revision string
	// StateKeys are the shared-state keys some node of the journey writes;
	// they read as null until written.
	StateKeys []string
	// AttributeKeys are the user attributes the journey's expressions read
	// (user.attributes["k"]); a user without one reads it as "", so a
	// condition on an attribute most users lack is not an error.
	AttributeKeys []string
}

// CompiledNode is one node of a journey with its edges resolved.
type CompiledNode struct {
	Name string
	Type string
	Node Node
	// Edges maps each outcome to a node name of the same journey or to a
	// terminal ("success", "failure").
	Edges map[Outcome]string
}
