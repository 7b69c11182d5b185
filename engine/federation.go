package engine

import (
	"context"
	"errors"
	"time"
)

// CallbackRedirect asks the client to send the browser to URI (the
// authorization endpoint of an upstream identity provider, for
// federated_login). The OAuth login pages follow it with a 302; a journey
// API client opens URI in the user's browser and, once the provider has
// sent the browser back to authd, answers the callback with any value to
// move the journey on. The answer itself carries nothing: the result of the
// upstream login is kept by authd, never taken from the client.
const CallbackRedirect = "redirect"

// FederationService is what federated_login needs of the upstream client
// (protocols/federation): an interface here so nodes depend on engine
// alone, as the push nodes do with PushService.
type FederationService interface {
	// BeginFederation prepares a login at the named identity_provider for
	// the session: fresh state, nonce and PKCE verifier, bound to the
	// session and kept server side, and returns the upstream
	// authorization URL to send the browser to. A *FederationError
	// means the provider cannot be used now (discovery failed): the node
	// fails rather than faults.
	BeginFederation(ctx context.Context, r *FederationRequest) (authorizeURL string, err error)
	// FederationResult returns, and consumes, what the upstream login of
	// this session at this provider came back with: the verified
	// identity, a *FederationError when the provider refused or its
	// answer did not verify, or ErrFederationPending when the browser
	// has not come back yet.
	FederationResult(ctx context.Context, provider, sessionID string, now time.Time) (*FederatedIdentity, error)
}

// FederationRequest is one upstream login a federated_login node asks for.
type FederationRequest struct {
	Provider  string // identity_provider NAME
	Realm     string
	SessionID string
	// Protocol is the front end that drives the session (FrontendOAuth
	// binds the callback to the login pages' browser as well).
	Protocol string
	Now      time.Time
}

// FederatedIdentity is a verified upstream identity: the ID token's issuer
// and subject, and the userinfo claims authd maps users with.
type FederatedIdentity struct {
	Provider string `json:"provider"`
	Issuer   string `json:"issuer"`
	Subject  string `json:"subject"`
	Email    string `json:"email,omitempty"`
	// EmailVerified is nil when the provider did not say.
	EmailVerified     *bool  `json:"email_verified,omitempty"`
	Name              string `json:"name,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
}

// ErrFederationPending means the browser has not come back from the
// upstream provider for this session yet.
var ErrFederationPending = errors.New("the upstream login has not completed")

// FederationError is an upstream login that came back but failed: the
// provider refused (access_denied), or the code exchange or the ID token
// verification failed. Reason is safe to log; it holds no token or secret.
type FederationError struct {
	Reason string
}

// Error implements error.
func (e *FederationError) Error() string { return "upstream login failed: " + e.Reason }
