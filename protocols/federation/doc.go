// Package federation is authd as an OpenID Connect client of upstream
// identity providers: the identity_provider "oidc" "NAME" blocks, used by
// the federated_login node through engine.FederationService.
//
// Why go-oidc and x/oauth2: discovery, JWKS caching and rotation, ID token
// signature and claim checks and the PKCE helpers are security code with a
// long tail of edge cases; github.com/coreos/go-oidc/v3 and
// golang.org/x/oauth2 are the maintained, widely deployed implementations,
// so authd writes none of it by hand.
//
// # Flow
//
//  1. federated_login calls BeginFederation. The service resolves the
//     provider at run time (discovery on first use, then cached; a provider
//     that is down fails that login, not authd's start), draws a state and
//     a nonce of 256 bits each from crypto/rand and a PKCE verifier
//     (oauth2.GenerateVerifier, S256), and stores them under a hash of the
//     state, bound to the authd session and the front end that drives it.
//     The node suspends with an engine.CallbackRedirect whose URI is the
//     upstream authorization URL.
//  2. The browser comes back to CallbackPath (/oauth2/federation/callback,
//     the redirect URI to register at the provider). Complete consumes the
//     state (single use: it is deleted in the same transaction that reads
//     it, and expires after StateTTL), lets the front end check that the
//     browser is the one the session belongs to, exchanges the code with
//     the PKCE verifier, verifies the ID token against the provider's JWKS
//     (issuer, audience, expiry, signature) and its nonce, checks at_hash
//     when present, and fetches userinfo (whose sub must equal the ID
//     token's). The outcome, an identity or a failure, is stored for the
//     session.
//  3. The front end resumes the session; federated_login reads the result
//     with FederationResult (consumed on read) and maps the user.
//
// A provider whose discovery fails (down, or a wrong issuer) fails the
// login at BeginFederation as an *engine.FederationError, so a journey can
// route federated_login's failure outcome to a fallback; nothing is cached,
// the next login tries again. A provider that answers with an error
// (access_denied), a failed code
// exchange, an ID token that does not verify or a nonce that does not match
// all end the upstream login as a failure that federated_login follows as
// its failure outcome; a state that is unknown, used or expired is
// rejected at the callback and touches no session.
//
// # Browser binding
//
// For sessions driven by the OAuth login pages, protocols/oauth sets a
// cookie naming the login when it sends the browser upstream and refuses a
// callback whose session is not that login's (and whose browser cookie does
// not match), so a state cannot be replayed into another browser's sign-in.
// A session driven by the JSON journey API has no browser authd knows: the
// API client gets the redirect callback, opens its URI in the user's
// browser, and answers the callback once the browser is back; Handler
// serves the callback for such sessions with a page that says to return to
// the application. The API client must open the URI in its own user's
// browser: whoever completes the upstream login completes that session,
// as with any device-style flow.
//
// # Decisions where the spec is silent
//
//   - PKCE: with pkce = true the S256 challenge is always sent, and a
//     provider whose discovery document lists code_challenge_methods_supported
//     without S256 is refused rather than silently logged in without it.
//   - email_verified: an email counts as verified only when the provider
//     says email_verified = true (userinfo wins over the ID token when both
//     say). A missing claim is not a yes: a provider that does not vouch
//     for its emails may let any user set any address, and federated_login
//     would then match them to that address's local account. An
//     identity_provider with assume_email_verified = true reports a missing
//     claim as true, for providers whose administrators set every address
//     and that never send the claim; an explicit false stays false.
//   - Results and states live StateTTL (10 minutes) and are swept by
//     RunSweeper.
package federation
