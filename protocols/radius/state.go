package radius

import (
	"crypto/rand"
	"errors"
	"sync"
	"time"

	"github.com/authd/authd/engine"
)

// stateLen is the length of a State attribute authd issues: 24 random
// bytes (192 bits), beyond guessing and beyond RFC 5080's minimum.
const stateLen = 24

// challengeKind says what an outstanding Access-Challenge asked for, so
// the reply carrying its State is read the right way.
type challengeKind int

const (
	// askInput: the User-Password answers pending[input] (a code, a
	// password, a choice).
	askInput challengeKind = iota
	// showMessage: a message was shown; any answer goes on.
	showMessage
	// showNumber: the number to pick on the phone was shown; the answer
	// (blank) starts the hold, "exit" or "cancel" leaves the wait.
	showNumber
)

// challenge is one outstanding Access-Challenge: the engine session it
// stands for, and what binds it (the client and the User-Name).
type challenge struct {
	session string
	client  string
	user    string
	policy  string
	kind    challengeKind
	pending []engine.Callback
	input   int    // index in pending of the callback the answer fills; -1: none
	prompt  string // the Reply-Message, to ask again after a bad answer
	expires time.Time
}

// stateTable maps the States of outstanding challenges to their sessions.
// A State is random, bound to the client and User-Name it was sent for,
// and single-use: take removes it, and every re-challenge gets a new one.
// It lives in memory only (see README: a restart forgets challenges).
type stateTable struct {
	mu  sync.Mutex
	m   map[string]*challenge
	max int
}

var errTooManyChallenges = errors.New("too many outstanding challenges")

func newStateTable(max int) *stateTable {
	return &stateTable{m: map[string]*challenge{}, max: max}
}

// issue stores c under a fresh State and returns the State.
func (t *stateTable) issue(c *challenge) ([]byte, error) {
	b := make([]byte, stateLen)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= t.max {
		return nil, errTooManyChallenges
	}
	t.m[string(b)] = c
	return b, nil
}

// take returns and forgets the challenge of state when it was issued to
// this client for this user and has not expired. A State presented by the
// wrong client or for another user is refused and left in place, so a
// guess cannot cancel someone else's login.
func (t *stateTable) take(state []byte, client, user string, now time.Time) *challenge {
	if len(state) != stateLen {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.m[string(state)]
	if c == nil {
		return nil
	}
	if !now.Before(c.expires) {
		delete(t.m, string(state))
		return nil
	}
	if c.client != client || c.user != user {
		return nil
	}
	delete(t.m, string(state))
	return c
}

func (t *stateTable) sweep(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, c := range t.m {
		if !now.Before(c.expires) {
			delete(t.m, k)
		}
	}
}

func (t *stateTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
