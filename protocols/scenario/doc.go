// Package scenario is the offline scenario runner behind `authd test`: it
// plays logins against a configuration the way its front ends would, in
// process, with an in-memory store and a clock that moves only when told,
// and checks what happened against what the policy author expected.
//
// A directory's *.authtest.hcl files (beside the configuration or in
// tests/) declare fixture users and scenarios; docs/testing.md is the
// language reference. Parse decodes them, Check compares them with the
// loaded configuration (every name resolved, with positions), and a
// Runner runs them and reports per scenario, with coverage of the
// journeys' edges.
//
// # Decisions
//
//   - It lives with the front ends because it simulates them: api
//     scenarios call the engine as the journey API does; radius scenarios
//     send signed Access-Requests to the real protocols/radius server over
//     an in-memory net.PacketConn (no socket, no port); oauth scenarios
//     call the real protocols/oauth provider's http.Handler in process.
//   - Paths are observed, not asked for: the program's nodes are wrapped
//     so every Process call is recorded whatever front end drives the
//     engine, because neither RADIUS packets nor tokens say which nodes a
//     login passed. The same records give coverage. Nodes of inner
//     journeys appear as JOURNEY.NODE.
//   - Every scenario gets its own store, engine, clock and phones, so
//     scenarios run in parallel and never see each other's lockouts,
//     pushes or used codes.
//   - Fixture passwords are hashed with argon2id at the format's minimum
//     cost, once per distinct password per run (see hasher): real cost
//     would make a thousand logins take minutes. The verifier is the
//     production one, unchanged; the weak hashes live only in the run's
//     memory. A scenario with an unknown user still pays one full-cost
//     verification (users checks a dummy hash so timing never tells).
//   - Phones are simulated behind the Phones interface (an
//     engine.PushService): a phone answers the moment a push arrives, as
//     the scenario's device says, so no front end ever waits on the wall
//     clock. Number matching numbers are deterministic per scenario.
//   - Over RADIUS the server times challenges by the wall clock and caps
//     them at the session's expiry, which the engine computes from the
//     scenario's clock, so RADIUS scenarios start at the wall clock's time.
//     A push nobody answers cannot be waited out in memory (the server
//     holds on the wall clock), so runs give the server a hold limit of a
//     nanosecond: the NAS sees Access-Reject. Expiry paths belong in api
//     scenarios, where advance moves the clock.
//   - RADIUS reply attributes are compared as values of the serving
//     policy's reply_attributes, evaluated with the engine's evaluation
//     context over the journey's final user and state; the wire encoding
//     is protocols/radius's own tests' business.
//   - OAuth scenarios go through the browser flow: authorization code with
//     PKCE, one login page per step (answers posted as the page's form),
//     then the token endpoint and userinfo for the claims. A relying party
//     with only the password grant uses it, in one step. Confidential
//     clients get a test secret. The providers of a run share one store
//     for their signing keys (an RSA key costs a tenth of a second) and
//     their codes and tokens, which live under random keys.
//   - Configuration warnings are validate's to print: a test run shows the
//     configuration's errors only, and every scenario-file diagnostic.
package scenario
