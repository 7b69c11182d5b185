// Package dsl compiles a directory of authd HCL files into a Config: the
// engine's Program (realms and journeys with their nodes built) plus the
// front ends' settings (server, relying parties, RADIUS clients and
// policies, push providers, SMS gateways, protected resources, identity
// providers).
//
// Loading runs in fixed phases, as in Terraform's internal/configs and
// Nomad's jobspec2: parse every file (a syntax error stops there, since
// the rest would only be follow-on noise), declare every block name,
// decode each top-level block with its own decodeXBlock function (which
// keeps the block's DeclRange), link the references between blocks, and
// run the whole-configuration checks (graph shape, data flow, runtime
// expressions, front-end fitness). Every problem is an hcl.Diagnostic with
// the narrowest source range, a short Summary and a full-sentence Detail,
// so `authd validate` prints all of them at once; nothing here turns
// diagnostics into plain errors.
//
// # Node types
//
// Nodes are decoded and built through the engine's registry alone: the
// settings struct from NodeType.Config (gohcl tags; hcl.Expression fields
// are runtime expressions whose references validate checks), outcomes
// from NodeType.Outcomes, the node from NodeType.New (a SettingError
// points at its setting), advice from NodeType.Warnings. A settings
// struct may name settings that refer to other blocks with
//
//	ReferenceSettings() map[string]string // setting -> block kind
//
// (inner_journey's journey = journey.x); a plain string setting may also
// take KIND.NAME, which evaluates to the name. When an edge names an
// outcome the settings do not produce, validate flips each boolean setting
// to find the one responsible ("skipped only with remove_skip = false").
//
// # Decisions where the contract leaves room
//
//   - References are bare (realm.corp, success). A quoted reference
//     ("node.x") is accepted with a warning; JSON files quote them anyway.
//   - Outcome keys may be bare or quoted; durations are strings ("120s",
//     "1d", "2w", "1h30m"), and a number is read as seconds.
//   - pkce takes "required"/"optional" (canonical for relying parties) or
//     true/false (canonical for identity providers), both places.
//   - Relying party defaults: client_type "confidential", client_id the
//     block name, grant_types ["authorization_code"], pkce "required",
//     scopes ["openid"], access_token_format "opaque"; a claim without
//     scope is issued with openid. Redirect URIs: https, http only on
//     loopback (127.0.0.0/8, [::1], localhost), or a private-use scheme
//     with a dot (RFC 8252); never a fragment.
//   - RADIUS clients: nested networks are fine (the front end picks the
//     most specific), identical ones are an error. A client's timeout
//     (default 5s, FortiGate's remoteauthtimeout) is declared so push
//     waits can be compared with it. A radius_policy without clients
//     serves every client.
//   - Runtime variables by place: node settings use user, request, now and
//     the journey's state; a radius_policy's when only request and user;
//     reply_attributes user, request, now and the journey's state; claims
//     user, request and now.
//   - Facts (a known user, a sent push) are checked on every path from
//     start. A journey served by a radius_policy or relying_party, or
//     entered by no inner_journey, starts with none; one entered only by
//     inner_journey nodes starts with what holds at every such node; an
//     inner_journey's success establishes what its target guarantees at
//     success.
//   - A missing env() variable or file() is a warning for validate (CI has
//     no secrets, and -strict leaves it a warning) and an error with
//     Options.RequireEnv (authd run). file() reads below the directory of
//     the file that calls it, never outside, and drops one trailing
//     newline.
//   - Radius policies are ordered by file name, then position.
//   - An unknown argument or block, in any block, says what was meant:
//     hcl's "Did you mean" for a close name, else the names the block
//     takes, or that its body stays empty (poll, log). Every block body
//     is read through decodeContent (node settings: decodeSettings).
//   - Credentials written into a URL that authd uses or hands out
//     (webhook url, twilio base_url, issuer, jwks_url, introspection_url,
//     public_url) are a warning like a literal secret, so -strict refuses
//     them; a webhook's belong in headers read with env() or file(). A
//     URL read whole with env() or file() is not warned about.
//
// Secrets (RADIUS shared secrets, client secrets, SMS tokens) come from
// env() or file(); a literal secret is a warning because these files live
// in Git. A Secret never prints its value, and the sources kept in
// Config.Files for diagnostic snippets have literal secrets masked, URL
// passwords in any string too. Messages quote URLs through
// MaskURLCredentials (https://user:*****@host), which Load and
// WriteDiagnostics also apply to every diagnostic, and so does package
// diff to its report.
package dsl
