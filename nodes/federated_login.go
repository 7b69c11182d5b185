package nodes

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/users"
)

// FederatedLoginConfig are the settings of a federated_login node.
type FederatedLoginConfig struct {
	// Provider names the upstream provider, as identity_provider.NAME.
	Provider hcl.Expression `hcl:"provider"`
	// MatchOn is the claim that finds the local user: email (default) or sub.
	MatchOn string `hcl:"match_on,optional"`
	// CreateUser creates a local user when none matches, instead of
	// leaving by no_account.
	CreateUser bool `hcl:"create_user,optional"`
}

// ReferenceSettings tells dsl that `provider` names an identity_provider
// block rather than being a runtime expression.
func (*FederatedLoginConfig) ReferenceSettings() map[string]string {
	return map[string]string{"provider": "identity_provider"}
}

func init() {
	engine.Register(&engine.NodeType{
		Name:        "federated_login",
		Summary:     "logs in at an upstream identity provider (authorization code + PKCE) and maps the user",
		Config:      func() any { return &FederatedLoginConfig{MatchOn: "email"} },
		Outcomes:    engine.FixedOutcomes("success", "failure", "no_account"),
		New:         newFederatedLogin,
		Interactive: true,
		NotOver:     []string{engine.FrontendRADIUS},
		Provides:    providesOn("success", engine.FactUser),
		StateKeys:   noStateKeys,
	})
}

// FederatedLoginProvider returns the identity_provider a federated_login
// node logs in at, with a diagnostic at the setting when it is not
// identity_provider.NAME; dsl uses it to resolve the reference.
func FederatedLoginProvider(cfg any) (string, hcl.Diagnostics) {
	c, err := settings[FederatedLoginConfig](cfg)
	if err != nil {
		return "", hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid federated_login settings", Detail: err.Error()}}
	}
	return Reference(c.Provider, "identity_provider", "provider")
}

func newFederatedLogin(cfg any) (engine.Node, error) {
	c, err := settings[FederatedLoginConfig](cfg)
	if err != nil {
		return nil, err
	}
	var p problems
	provider, diags := FederatedLoginProvider(c)
	if diags.HasErrors() {
		p.add("provider", "%s", diagMessage(diags))
	}
	checkOneOf(&p, "match_on", c.MatchOn, "email", "sub")
	if err := p.err(); err != nil {
		return nil, err
	}
	return &federatedLogin{provider: provider, matchOn: c.MatchOn, createUser: c.CreateUser}, nil
}

// federatedLogin sends the browser to the upstream provider, and on its
// return finds the local user by the matched claim: success (the user is
// established), no_account when none matches and create_user is off,
// failure when the provider is unreachable (discovery failed), refused, or
// its answer did not verify. It needs
// a browser, so not over RADIUS.
//
// Entered, it asks engine.Services.Federation to begin an upstream login
// and suspends with one engine.CallbackRedirect (id "redirect") whose URI is
// the upstream authorization URL; the OAuth login pages follow it with a
// 302, a journey API client opens it in the user's browser. Resumed, it
// reads the verified identity from the service (never from the answer,
// which carries nothing); a resume before the browser is back asks again
// with the same URL.
//
// Mapping (the link is the user attribute "federation.PROVIDER", holding
// "ISSUER SUBJECT"):
//   - match_on = "email": the one user of the realm whose email equals
//     the upstream email (case-insensitively), only when the provider says
//     email_verified = true. No email, or one it does not vouch for
//     (false, or the claim missing), is a failure: at a provider that lets
//     users set their address, anyone could claim a local user's address
//     and take over the account. (An identity_provider with
//     assume_email_verified = true has the service report a missing claim
//     as true.) Two users with that email is a failure (ambiguous). The
//     matched user gets the link stored; a user already linked to another
//     upstream subject of this provider is a failure.
//   - match_on = "sub": the user whose link equals the upstream issuer and
//     subject.
//
// With create_user = true an unmatched identity creates a user without a
// password: named after the (verified) email, else "PROVIDER:SUBJECT",
// with the email, the link and the name attribute. A name that is already
// taken by a user this identity did not match is a failure, never a
// takeover. A locked account is a failure.
type federatedLogin struct {
	provider   string
	matchOn    string
	createUser bool
}

// callbackRedirectID is the id of the redirect callback.
const callbackRedirectID = "redirect"

// FederationLinkAttribute is the user attribute that links a local user to
// its upstream identity at provider; its value is "ISSUER SUBJECT".
func FederationLinkAttribute(provider string) string { return "federation." + provider }

// Process implements engine.Node.
func (n *federatedLogin) Process(ctx context.Context, nc *engine.Context) (engine.Result, error) {
	svc := nc.Services.Federation
	if svc == nil {
		return engine.Result{}, errors.New("federated_login: no identity provider service is configured")
	}
	if nc.Resumed() {
		id, err := svc.FederationResult(ctx, n.provider, nc.Session.ID, nc.Now())
		var fe *engine.FederationError
		switch {
		case errors.Is(err, engine.ErrFederationPending) && nc.Data() != "":
			return engine.Ask(n.redirect(nc.Data())), nil
		case errors.Is(err, engine.ErrFederationPending):
			// fall through to begin again
		case errors.As(err, &fe):
			nc.SetData("")
			return engine.Result{Outcome: "failure", Reason: fe.Reason}, nil
		case err != nil:
			return engine.Result{}, fmt.Errorf("federated_login: %w", err)
		default:
			nc.SetData("")
			return n.mapUser(nc, id)
		}
	}
	protocol := nc.Session.Origin.Protocol
	if nc.Request != nil && nc.Request.Protocol != "" {
		protocol = nc.Request.Protocol
	}
	u, err := svc.BeginFederation(ctx, &engine.FederationRequest{
		Provider: n.provider, Realm: nc.Session.Realm, SessionID: nc.Session.ID, Protocol: protocol, Now: nc.Now(),
	})
	if fe := (*engine.FederationError)(nil); errors.As(err, &fe) {
		nc.SetData("")
		return engine.Result{Outcome: "failure", Reason: fe.Reason}, nil
	}
	if err != nil {
		return engine.Result{}, fmt.Errorf("federated_login: %w", err)
	}
	nc.SetData(u)
	return engine.Ask(n.redirect(u)), nil
}

func (n *federatedLogin) redirect(u string) engine.Callback {
	return engine.Callback{Type: engine.CallbackRedirect, ID: callbackRedirectID, URI: u,
		Prompt: "Sign in at " + n.provider}
}

// mapUser finds or creates the local user of a verified identity.
func (n *federatedLogin) mapUser(nc *engine.Context, id *engine.FederatedIdentity) (engine.Result, error) {
	repo := nc.Services.Users
	if repo == nil {
		return engine.Result{}, errors.New("federated_login: no user store configured")
	}
	realm := nc.Session.Realm
	attr := FederationLinkAttribute(n.provider)
	link := id.Issuer + " " + id.Subject
	// Only a verified email maps (see the type's doc): a missing
	// email_verified is no more a yes than false is.
	emailOK := id.Email != "" && id.EmailVerified != nil && *id.EmailVerified
	if n.matchOn == "email" && !emailOK {
		return engine.Result{Outcome: "failure", Reason: "the provider gave no email, or did not verify it"}, nil
	}
	all, err := repo.List(realm)
	if err != nil {
		return engine.Result{}, fmt.Errorf("federated_login: listing users: %w", err)
	}
	var found []*users.User
	for _, u := range all {
		switch n.matchOn {
		case "email":
			if u.Email != "" && strings.EqualFold(u.Email, id.Email) {
				found = append(found, u)
			}
		default:
			if u.Attributes[attr] == link {
				found = append(found, u)
			}
		}
	}
	switch {
	case len(found) > 1:
		return engine.Result{Outcome: "failure", Reason: fmt.Sprintf("%d users match the upstream %s", len(found), n.matchOn)}, nil
	case len(found) == 1:
		u := found[0]
		if u.Locked(nc.Now()) {
			return engine.Result{Outcome: "failure", Reason: "the account is locked"}, nil
		}
		if cur := u.Attributes[attr]; cur != link {
			if cur != "" {
				return engine.Result{Outcome: "failure", Reason: "the user is linked to another upstream account"}, nil
			}
			err := repo.Update(realm, u.Name, func(x *users.User) error {
				if x.Attributes == nil {
					x.Attributes = map[string]string{}
				}
				x.Attributes[attr] = link
				return nil
			})
			if err != nil {
				return engine.Result{}, fmt.Errorf("federated_login: linking the user: %w", err)
			}
		}
		nc.SetUser(u.Name)
		return engine.Result{Outcome: "success", Reason: "matched by " + n.matchOn}, nil
	case !n.createUser:
		return engine.Result{Outcome: "no_account", Reason: "no user matches the upstream " + n.matchOn}, nil
	}
	name := n.provider + ":" + id.Subject
	if emailOK {
		name = id.Email
	}
	nu := &users.User{Realm: realm, Name: name, Attributes: map[string]string{attr: link}}
	if emailOK {
		nu.Email = id.Email
	}
	if id.Name != "" {
		nu.Attributes["name"] = id.Name
	}
	if err := repo.Create(nu); err != nil {
		var fe *users.FieldError
		switch {
		case errors.Is(err, users.ErrExists):
			return engine.Result{Outcome: "failure", Reason: "a user with the new user's name exists and is not linked"}, nil
		case errors.As(err, &fe):
			return engine.Result{Outcome: "failure", Reason: "the upstream identity makes no valid user: " + fe.Error()}, nil
		}
		return engine.Result{}, fmt.Errorf("federated_login: creating the user: %w", err)
	}
	nc.Log().Info("created a user from an upstream identity", "provider", n.provider)
	nc.SetUser(name)
	return engine.Result{Outcome: "success", Reason: "created from the upstream identity"}, nil
}

var _ engine.Node = (*federatedLogin)(nil)

// FederationNeeds returns the identity_provider the node logs in at and
// the upstream scopes its mapping needs ("email" with match_on = "email":
// without it most providers send no email claim, and every login would
// fail), so dsl can warn when the provider's scopes lack them.
func (c *FederatedLoginConfig) FederationNeeds() (provider string, scopes []string) {
	provider, diags := FederatedLoginProvider(c)
	if diags.HasErrors() {
		return "", nil
	}
	if c.MatchOn == "" || c.MatchOn == "email" {
		return provider, []string{"email"}
	}
	return provider, nil
}
