// Package nodes holds the built-in node types of authd journeys, one type
// per file. Each file registers its type with engine.Register in init(), so
// a blank import of this package makes every type available to dsl and the
// engine:
//
//	import _ "github.com/authd/authd/nodes"
//
// A node type is described entirely by its engine.NodeType: the settings
// struct (decoded by gohcl), the outcomes those settings produce, the facts
// it needs and establishes, and the shared-state keys it writes. dsl
// validates journeys from that description alone, so adding a node type
// touches no package but this one.
//
// Nodes keep no per-session data: what must survive a suspension lives in
// the session through the engine.Context (State, Counter, Data). Secrets
// (passwords, codes) travel only in the Context's transient values, which
// die with the request, and are never logged.
//
// # Conventions
//
// Durations are strings parsed by ParseDuration ("120s", "10h", "1d",
// "2w"). Localised texts are maps keyed by language tag, shown in the
// request's locale, else the realm's default_locale, else "en". In
// user-facing text {{user}} is the user name and {{issuer}} the realm's
// display name. Runtime expressions (condition's when, set_state's values,
// message's text) are hcl.Expression settings that dsl checks and nodes
// evaluate per request. Settings that name another block
// (inner_journey's journey, federated_login's provider) are declared by a
// ReferenceSettings method on the settings struct.
//
// # Catalogue
//
// Outcomes in brackets; "(setting)" marks an outcome that depends on it.
//
//	credentials        username_prompt, password_prompt    [next]  provides user
//	username           prompt                              [next]  provides user
//	password           prompt                              [next]
//	password_check     -                                   [success failure locked]  requires user
//	condition          when (expr, bool)                   [true false]
//	set_state          values (object expr)                [next]  writes its keys
//	message            text (string or localised map expr) [next]
//	choice             options, prompt, default            [one per option]
//	retry_limit        limit, increment_user_lockout       [retry reject]
//	inner_journey      journey (journey.NAME)              [success failure]
//	device_profile     location                            [next]  writes device_user_agent, device_ip (+device_location)
//	otp_or_push        prompt                              [code push not_enrolled]  requires user
//	otp_verify         window                              [success failure not_enrolled]  requires user
//	otp_registration   issuer, algorithm, digits, period   [success failure]  requires user; not over RADIUS
//	push_sender        message_timeout, push_type, user_message, share_context,
//	                   custom_payload, remove_skip, capture_failure
//	                                                       [sent not_registered skipped(!remove_skip) failure(capture_failure)]
//	                                                       requires user; provides push_sent on sent;
//	                                                       writes push_message_id, push_failure_reason, mfa_method
//	push_wait          seconds, exit, message              [done exit(exit)]  requires push_sent
//	push_result_verifier -                                 [success failure expired waiting]  requires push_sent
//	push_registration  issuer, timeout, message            [success failure timeout]  requires user; not over RADIUS
//	mfa_registration_options get_app, mandatory, allow_skip, message
//	                                                       [register get_app(get_app) skip(!mandatory, allow_skip) opt_out(!mandatory)]
//	get_authenticator_app apple_url, google_url, message   [next]  not over RADIUS
//	opt_out_mfa        -                                   [next]  requires user
//	recovery_code_display count, message                   [next]  requires user
//	recovery_code_collector prompt                         [true false]  requires user
//	sms_otp_sender     message, max_resends, code_ttl      [sent no_phone failure]  requires user
//	sms_otp_verify     max_attempts, prompt                [success failure expired resend]  requires user
//	federated_login    provider (identity_provider.NAME), match_on, create_user
//	                                                       [success failure no_account]  provides user on success; not over RADIUS
//
// federated_login reaches its upstream provider through
// engine.Services.Federation (protocols/federation), as the push nodes reach
// push through Services.Push; without that service (`authd test`) running
// it is a fault.
package nodes
