package nodes

import (
	"context"
	"errors"
	"fmt"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/users"
)

func init() {
	engine.Register(&engine.NodeType{
		Name:      "password_check",
		Summary:   "checks the password against the realm's user store; counts failures for lockout",
		Config:    newNoSettings,
		Outcomes:  engine.FixedOutcomes("success", "failure", "locked"),
		New:       withoutSettings(&passwordCheck{}),
		Requires:  []engine.Fact{engine.FactUser},
		Provides:  providesNothing,
		StateKeys: noStateKeys,
	})
}

// badCredentials is the one failure for a wrong password and an unknown
// user, reason included, so not even the logs tell them apart.
var badCredentials = engine.Result{Outcome: "failure", Reason: "wrong password or unknown user"}

// passwordCheck checks the password a credentials or password node left in
// this request's transient values against the session's user, applying the
// realm's lockout policy. It leaves by success, failure or locked; an
// unknown user is a failure, indistinguishable from a wrong password. The
// transient password is cleared after the check so no later node sees it.
type passwordCheck struct{}

// Process implements engine.Node.
func (n *passwordCheck) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	pw := nc.Transient(transientPassword)
	nc.SetTransient(transientPassword, "")
	name := nc.UserName()
	if name == "" {
		nc.Log().Debug("password_check without a user name")
		return badCredentials, nil
	}
	if pw == "" {
		// Usually a suspension between the password node and this one:
		// the transient password died with its request.
		nc.Log().Debug("password_check found no password in this request")
	}
	repo, err := userRepo(nc)
	if err != nil {
		return engine.Result{}, err
	}
	var lockout *users.Lockout
	if nc.Realm != nil {
		lockout = nc.Realm.Lockout
	}
	res, err := repo.CheckPassword(realmName(nc), name, pw, lockout, nc.Now())
	if err != nil {
		if errors.Is(err, users.ErrNotFound) {
			return badCredentials, nil
		}
		return engine.Result{}, fmt.Errorf("checking password: %w", err)
	}
	switch res {
	case users.PasswordOK:
		return engine.Next("success"), nil
	case users.AccountLocked:
		return engine.Result{Outcome: "locked", Reason: "account locked"}, nil
	case users.LockedNow:
		return engine.Result{Outcome: "locked", Reason: "wrong password; account locked"}, nil
	default:
		return badCredentials, nil
	}
}

var _ engine.Node = (*passwordCheck)(nil)
