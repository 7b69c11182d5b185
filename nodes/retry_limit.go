package nodes

import (
	"context"
	"errors"
	"fmt"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/users"
)

// RetryLimitConfig are the settings of a retry_limit node.
type RetryLimitConfig struct {
	// Limit is how many passes leave by retry before one leaves by reject.
	Limit int `hcl:"limit"`
	// IncrementUserLockout counts every pass as a failed attempt toward the
	// realm's lockout policy.
	IncrementUserLockout bool `hcl:"increment_user_lockout,optional"`
}

// maxRetryLimit keeps limit a number of attempts, not an accident.
const maxRetryLimit = 1000

func init() {
	engine.Register(&engine.NodeType{
		Name:      "retry_limit",
		Summary:   "counts passes: the first `limit` leave by retry, the next by reject",
		Config:    func() any { return &RetryLimitConfig{} },
		Outcomes:  engine.FixedOutcomes("retry", "reject"),
		New:       newRetryLimit,
		Provides:  providesNothing,
		StateKeys: noStateKeys,
	})
}

func newRetryLimit(cfg any) (engine.Node, error) {
	c, err := settings[RetryLimitConfig](cfg)
	if err != nil {
		return nil, err
	}
	if c.Limit < 1 || c.Limit > maxRetryLimit {
		return nil, &engine.SettingError{Setting: "limit", Message: fmt.Sprintf("must be between 1 and %d, not %d", maxRetryLimit, c.Limit)}
	}
	return &retryLimit{limit: c.Limit, lockout: c.IncrementUserLockout}, nil
}

// retryLimit counts the passes through it in the session, with PingAM's
// Retry Limit Decision semantics: passes 1..limit leave by retry, pass
// limit+1 leaves by reject and resets the count, so a journey that comes
// back later starts afresh. With limit = 3 a user placed after a failed
// check thus gets four attempts in all.
//
// With increment_user_lockout every pass is also recorded as a failed
// attempt against the session's user (users.Repo.RecordFailure) under the
// realm's lockout policy; when that locks the account the pass leaves by
// reject at once. Without a known user, or for an unknown one, nothing is
// recorded, so the journey does not reveal whether the account exists.
type retryLimit struct {
	limit   int
	lockout bool
}

// Process implements engine.Node.
func (n *retryLimit) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	count := nc.Counter() + 1
	if n.lockout && nc.UserName() != "" && nc.Realm != nil && nc.Realm.Lockout != nil {
		repo, err := userRepo(nc)
		if err != nil {
			return engine.Result{}, err
		}
		locked, err := repo.RecordFailure(realmName(nc), nc.UserName(), nc.Realm.Lockout, nc.Now())
		switch {
		case errors.Is(err, users.ErrNotFound):
		case err != nil:
			return engine.Result{}, fmt.Errorf("recording failure: %w", err)
		case locked:
			count = n.limit + 1
		}
	}
	if count > n.limit {
		nc.SetCounter(0)
		return engine.Result{Outcome: "reject", Reason: fmt.Sprintf("retry limit of %d reached", n.limit)}, nil
	}
	nc.SetCounter(count)
	return engine.Next("retry"), nil
}

var _ engine.Node = (*retryLimit)(nil)
