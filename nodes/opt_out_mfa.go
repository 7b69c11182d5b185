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
		Name:      "opt_out_mfa",
		Summary:   "marks the user as opted out of push MFA",
		Config:    newNoSettings,
		Outcomes:  engine.FixedOutcomes("next"),
		New:       withoutSettings(&optOutMFA{}),
		Requires:  []engine.Fact{engine.FactUser},
		Provides:  providesNothing,
		StateKeys: noStateKeys,
	})
}

// optOutMFA records on the user that they declined MFA registration:
// user.attributes["mfa_opt_out"] = "true", which journeys test with a
// condition to stop offering it. An unknown user has nothing to mark and
// simply moves on.
type optOutMFA struct{}

// OptOutAttribute is the user attribute opt_out_mfa sets to "true".
const OptOutAttribute = "mfa_opt_out"

// Process implements engine.Node.
func (n *optOutMFA) Process(_ context.Context, nc *engine.Context) (engine.Result, error) {
	name := nc.UserName()
	if name == "" {
		return engine.Result{Outcome: "next", Reason: "no user is known"}, nil
	}
	repo, err := userRepo(nc)
	if err != nil {
		return engine.Result{}, err
	}
	err = repo.Update(realmName(nc), name, func(u *users.User) error {
		if u.Attributes == nil {
			u.Attributes = map[string]string{}
		}
		u.Attributes[OptOutAttribute] = "true"
		return nil
	})
	if errors.Is(err, users.ErrNotFound) {
		return engine.Result{Outcome: "next", Reason: "no such user to mark"}, nil
	}
	if err != nil {
		return engine.Result{}, fmt.Errorf("marking the MFA opt-out: %w", err)
	}
	nc.Log().Info("user opted out of MFA")
	return engine.Result{Outcome: "next", Reason: "opted out of MFA"}, nil
}

var _ engine.Node = (*optOutMFA)(nil)
