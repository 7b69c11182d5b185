package dsl

import (
	"net"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/authd/authd/engine"
)

// Options tune a load for its purpose: `authd validate` runs where secrets
// are usually absent (CI), `authd run` must refuse to start without them.
type Options struct {
	// Strict turns warnings into errors (`authd validate -strict`), so CI
	// can keep literal secrets and unreachable nodes out of main. A secret
	// missing from this environment (env(), file()) stays a warning: CI
	// has no secrets, and that says nothing about the configuration. So
	// does an advisory warning, about a design that may be deliberate (a
	// journey anyone can start for any user: a passwordless login).
	Strict bool
	// RequireEnv makes an unset env() variable, or a file() that does not
	// exist, an error instead of a warning. `authd run` sets it: a server
	// must not start with an empty RADIUS secret.
	RequireEnv bool
	// LookupEnv resolves env("NAME"); nil means os.LookupEnv. Tests and the
	// fuzzer inject a fixed environment.
	LookupEnv func(string) (string, bool)
}

// Config is a whole compiled configuration. It is immutable once Load
// returns; a reload builds a new one.
//
// Load returns a non-nil Config even when the diagnostics hold errors, so
// callers can print snippets from Files; such a Config is partial and must
// not be served.
type Config struct {
	// Program is what the engine runs: realms and compiled journeys.
	// Program.Revision is the SHA-256 of every source file, so two loads of
	// the same files compare equal.
	Program *engine.Program
	// Server holds the listeners and the store, with defaults filled in
	// when the configuration has no server block.
	Server Server
	// Realms and Journeys are the decoded blocks behind Program, with their
	// source ranges and node order, for `authd graph` and `authd diff`.
	Realms   map[string]*Realm
	Journeys map[string]*Journey

	// The front ends' blocks, by name.
	RelyingParties map[string]*RelyingParty
	RADIUSClients  map[string]*RADIUSClient
	// RADIUSPolicies are in file order (files sorted by name, then blocks
	// by position) because the first matching policy wins.
	RADIUSPolicies     []*RADIUSPolicy
	PushProviders      map[string]*PushProvider
	SMSGateways        map[string]*SMSGateway
	ProtectedResources map[string]*ProtectedResource
	IdentityProviders  map[string]*IdentityProvider
	// APIClients are the applications that start journeys for their users
	// on the journey API (api_client blocks; APIClient is in api_client.go).
	APIClients map[string]*APIClient

	// SecretFiles are the paths file() read (or tried to), sorted, so
	// `authd run -watch` can notice a rotated secret. Their contents are
	// not kept here.
	SecretFiles []string

	// Files are the parsed sources by file name, for diagnostic snippets.
	// Literal secrets in them are masked with '*' (byte ranges unchanged),
	// so printing a snippet never reveals one.
	Files map[string]*hcl.File
}

// Server is the server block: where authd listens and keeps its data.
type Server struct {
	HTTP   HTTP    // the journey API, OAuth and push endpoints
	RADIUS *RADIUS // nil: no RADIUS listener
	Store  Store   // where sessions, users and keys live
	// DeclRange is the server block's header, or an empty range when the
	// configuration has no server block and every default applies.
	DeclRange hcl.Range // the block header, where diagnostics about the block point
}

// DefaultHTTPListen is where the HTTP front ends listen when the
// configuration does not say: loopback only, so a quick start exposes
// nothing.
const DefaultHTTPListen = "127.0.0.1:9000"

// DefaultRADIUSListen is the RADIUS authentication port used when a radius
// block gives no listen address.
const DefaultRADIUSListen = "127.0.0.1:1812"

// DefaultStorePath is the store file, relative to the data directory.
const DefaultStorePath = "authd.db"

// HTTP is server.http: the journey API, OAuth and push endpoints.
type HTTP struct {
	Listen string // host:port; default DefaultHTTPListen
	// PublicURL is the address phones and browsers reach (behind NAT or a
	// proxy it differs from Listen); empty means derive it from Listen.
	PublicURL string
	TLS       *TLS      // nil: plain HTTP (a proxy terminates TLS)
	DeclRange hcl.Range // the block header, where diagnostics about the block point
}

// TLS is server.http.tls. The paths are resolved against the directory of
// the file that declares them.
type TLS struct {
	CertFile  string    // PEM certificate chain
	KeyFile   string    // PEM private key
	DeclRange hcl.Range // the block header, where diagnostics about the block point
}

// RADIUS is server.radius.
type RADIUS struct {
	Listen string // UDP host:port for Access-Requests; default DefaultRADIUSListen
	// AccountingListen is the accounting port; empty means none.
	AccountingListen string
	DeclRange        hcl.Range // the block header, where diagnostics about the block point
}

// Store is server.store. Path is relative to the data directory.
type Store struct {
	Path string // the bbolt file, relative to the data directory
	// EncryptionKey encrypts secrets at rest in the store; unset means the
	// store is not encrypted.
	EncryptionKey Secret
	// AuditRetention is how long audit log entries are kept
	// (audit_retention; default DefaultAuditRetention); 0 keeps them
	// forever. The audit log lives in the store and travels with its
	// backups, hence the setting sits here. authd run's -audit-retention
	// flag, when given, overrides it. A reload applies a new value from
	// the next hourly sweep.
	AuditRetention time.Duration
	DeclRange      hcl.Range // the block header, where diagnostics about the block point
}

// DefaultAuditRetention keeps audit entries for 90 days, long enough for a
// quarterly review (the same as audit.DefaultRetention).
const DefaultAuditRetention = 90 * 24 * time.Hour

// MinAuditRetention is the shortest audit_retention other than 0: the log
// is swept hourly, so less would mean "delete at once", which is never
// what an audit log is for.
const MinAuditRetention = time.Hour

// Realm is a decoded realm block together with the engine's view of it.
type Realm struct {
	*engine.Realm
	// SSOSessionTTL is how long a browser's single sign-on session in this
	// realm lets relying parties skip a journey it passed (OAuth);
	// DefaultSSOSessionTTL when the realm does not say.
	SSOSessionTTL time.Duration
	DeclRange     hcl.Range // the block header, where diagnostics about the block point

	srcRange hcl.Range
}

// Journey is a decoded journey block; Compiled is what the engine runs.
type Journey struct {
	Name           string
	Realm          string        // the realm whose users it logs in
	Description    string        // for people: `authd graph`, admin listings
	Start          string        // the first node's name
	SessionTimeout time.Duration // default engine.DefaultSessionTimeout
	// Nodes are in source order, which `authd graph` keeps.
	Nodes     []*Node
	Compiled  *engine.Journey // the same journey as Program.Journeys holds it
	DeclRange hcl.Range       // the block header, where diagnostics about the block point

	startRange hcl.Range
	srcRange   hcl.Range
	byName     map[string]*Node
	// calls are the journeys this one enters through a node's settings
	// (inner_journey's `journey = journey.x`).
	calls []journeyCall
	state journeyState
}

// Node is one decoded node block of a journey.
type Node struct {
	Name string // unique in its journey
	Type string // the registered node type
	// Settings is the node type's decoded settings struct.
	Settings any
	// Outcomes are the outcomes the settings produce, in the type's order.
	Outcomes []engine.Outcome
	// Edges maps each wired outcome to a node name or a terminal.
	Edges     map[engine.Outcome]string
	DeclRange hcl.Range // the block header, where diagnostics about the block point

	typ        *engine.NodeType
	body       hcl.Body // the settings body (meta-arguments removed)
	typeRange  hcl.Range
	wiredRange hcl.Range // the next or outcomes attribute
	edgeRefs   []edgeRef // edges before their targets are resolved
	built      bool      // settings decoded and New succeeded
	impl       engine.Node
	exprs      []hcl.Expression // runtime expressions among the settings
	stateKeys  []string
}

// RelyingParty is an OAuth 2.0 / OpenID Connect client of authd.
type RelyingParty struct {
	Name    string // the block name, and the client_id unless one is given
	Realm   string // the realm whose users it serves
	Journey string // "" when the only grant is client_credentials
	// ClientType is "confidential" (the default) or "public".
	ClientType string
	// ClientID defaults to the block's name.
	ClientID string
	// ClientSecret is set for a confidential client that declares
	// client_secret; ClientSecretHash for one that declares a hash.
	ClientSecret     Secret
	ClientSecretHash string // argon2id, bcrypt or sha512-crypt, in modular crypt format
	// GrantTypes: authorization_code (the default), refresh_token,
	// password, client_credentials.
	GrantTypes []string
	// PKCE is "required" (the default, and always for public clients) or
	// "optional". `pkce = true/false` are accepted as spellings of them.
	PKCE         string
	RedirectURIs []string // only with authorization_code: https, loopback http or a private-use scheme
	Scopes       []string // what it may ask for; default ["openid"]
	// AccessTokenTTL (default 10h) and RefreshTokenTTL (default 24h); zero
	// means the token never expires, which validate warns about.
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration // see AccessTokenTTL
	// AccessTokenFormat is "opaque" (the default) or "jwt".
	AccessTokenFormat string
	// PostLogoutRedirectURIs are where /oauth2/logout may send the browser
	// back (exact match; the redirect URIs are not implied).
	PostLogoutRedirectURIs []string
	// Introspectors are the names of relying parties (resource servers)
	// that may introspect this one's tokens, besides itself.
	Introspectors []string
	Claims        []*Claim  // in source order
	DeclRange     hcl.Range // the block header, where diagnostics about the block point
}

// DefaultSSOSessionTTL is a realm's single sign-on session lifetime when
// it gives no sso_session_ttl: a working day.
const DefaultSSOSessionTTL = 8 * time.Hour

// Default token lifetimes of a relying party.
const (
	DefaultAccessTokenTTL  = 36000 * time.Second
	DefaultRefreshTokenTTL = 24 * time.Hour
)

// Claim is a claim block of a relying party: Value is a runtime expression
// over user, request and now, issued when the token grants Scope.
type Claim struct {
	Name      string         // the claim's name in tokens and userinfo
	Scope     string         // the scope that grants it; default "openid"
	Value     hcl.Expression // a runtime expression, checked by validate
	DeclRange hcl.Range      // the block header, where diagnostics about the block point
}

// RADIUSClient is a NAS (a VPN gateway, a switch) allowed to send
// Access-Requests.
type RADIUSClient struct {
	Name string // the block name, for logs and radius_policy clients
	// Address is the client's network: an IP becomes a /32 or /128. Nested
	// networks are allowed (the most specific wins); identical ones are not.
	Address *net.IPNet
	Secret  Secret // the RADIUS shared secret
	// RequireMessageAuthenticator (default true) drops requests without a
	// valid Message-Authenticator (BlastRADIUS, CVE-2024-3596).
	RequireMessageAuthenticator bool
	// LimitProxyState (default true) drops requests carrying Proxy-State
	// from clients that are not proxies, the other half of the BlastRADIUS
	// mitigation.
	LimitProxyState bool
	// Timeout is how long the client waits for an answer (its own setting,
	// declared here so validate can compare it with push waits). Default
	// 5s, FortiGate's default remoteauthtimeout.
	Timeout   time.Duration
	DeclRange hcl.Range // the block header, where diagnostics about the block point
}

// DefaultRADIUSClientTimeout is FortiGate's default remoteauthtimeout.
const DefaultRADIUSClientTimeout = 5 * time.Second

// RADIUSPolicy maps RADIUS requests to a realm and journey. Policies are
// tried in file order; the first whose clients and When match wins.
type RADIUSPolicy struct {
	Name string // the block name, for logs
	// Clients are radius_client names; empty means every client.
	Clients []string
	Realm   string // the realm of the users it logs in
	Journey string // the journey it runs, of that realm
	// When is a runtime expression over request and user; nil means always.
	When hcl.Expression
	// ReplyAttributes is an object expression evaluated on Access-Accept
	// over user, request, now and the journey's state; nil means none. A
	// list value gives one attribute per element.
	ReplyAttributes hcl.Expression
	// AppendedFactor takes a second factor appended to the password
	// ("secret,push", "secret,123456": Duo's appended mode) for NASes that
	// cannot show a challenge; false (the default) reads the whole
	// User-Password as the password.
	AppendedFactor bool
	DeclRange      hcl.Range // the block header, where diagnostics about the block point
}

// PushProvider delivers push notifications to enrolled devices. Exactly one
// of the typed settings is set, matching Type.
type PushProvider struct {
	Type      string           // apns | fcm | poll | webhook
	Name      string           // referenced as push_provider.NAME
	APNS      *APNSSettings    // Type "apns"
	FCM       *FCMSettings     // Type "fcm"
	Poll      *PollSettings    // Type "poll"
	Webhook   *WebhookSettings // Type "webhook"
	DeclRange hcl.Range        // the block header, where diagnostics about the block point
}

// APNSSettings are Apple push settings with token (.p8) authentication.
type APNSSettings struct {
	TeamID   string // the Apple developer team
	KeyID    string // the id of the .p8 signing key
	KeyFile  string // resolved against the declaring file's directory
	BundleID string // the authenticator app's bundle id, the APNs topic
	// Environment is "production" (the default) or "sandbox".
	Environment string
}

// FCMSettings are Firebase Cloud Messaging settings.
type FCMSettings struct {
	CredentialsFile string // resolved against the declaring file's directory
}

// PollSettings are empty: polling devices fetch pushes from authd itself.
type PollSettings struct{}

// WebhookSettings post each push (or SMS) to a URL of the operator's.
// Header values may carry credentials, so they are Secrets.
type WebhookSettings struct {
	URL     string            // https, or http on loopback
	Headers map[string]Secret // sent with every request
}

// SMSGateway sends one-time codes by SMS. Exactly one of the typed settings
// is set, matching Type.
type SMSGateway struct {
	Type      string           // twilio | webhook | log
	Name      string           // referenced as sms_gateway.NAME
	Twilio    *TwilioSettings  // Type "twilio"
	Webhook   *WebhookSettings // Type "webhook"
	Log       *LogSettings     // Type "log"
	DeclRange hcl.Range        // the block header, where diagnostics about the block point
}

// TwilioSettings are the Twilio REST API credentials and sender.
type TwilioSettings struct {
	AccountSID string // the Twilio account
	AuthToken  Secret // its API token
	From       string // the sending number, E.164
	// BaseURL replaces https://api.twilio.com (tests, regional edges); "" is the default.
	BaseURL string
}

// LogSettings are empty: the log gateway writes codes to the log, for
// development only.
type LogSettings struct{}

// ProtectedResource is an API that authd guards as a resource server or
// forward-auth endpoint.
type ProtectedResource struct {
	Name  string // the {protected_resource} of /api/v1/authz/
	Realm string // whose tokens it accepts
	// TokenValidation is "internal" (the default: JWTs checked against
	// authd's own keys) or "external" (token introspection).
	TokenValidation string
	// RequiredScopes must all be present in the token.
	RequiredScopes []string
	// Audience: when set, a token must name one of these in aud. authd's
	// own access tokens carry their client's id there.
	Audience []string
	// Internal validation of another issuer's JWTs: its key set and the
	// iss its tokens carry. Empty: authd's own keys and issuer.
	JWKSURL string `hcl:"jwks_url"`
	Issuer  string
	// External validation: RFC 7662 introspection at IntrospectionURL
	// (empty: authd's own store, in process), authenticated as ClientID
	// with ClientSecret.
	IntrospectionURL string `hcl:"introspection_url"`
	ClientID         string
	ClientSecret     Secret
	// ValidateFrequency is "interval" (the default: a positive answer is
	// kept for ValidateInterval), "transaction" (every request asks) or
	// "session" (kept until the token expires).
	ValidateFrequency string
	ValidateInterval  time.Duration
	// Headers are the claims passed on to the upstream, one header each.
	Headers   []*ClaimHeader
	DeclRange hcl.Range // the block header, where diagnostics about the block point
}

// IdentityProvider is an upstream OpenID Connect provider authd logs users
// in at (federated_login).
type IdentityProvider struct {
	Type         string    // oidc
	Name         string    // referenced as identity_provider.NAME (federated_login)
	Issuer       string    // the OpenID Connect issuer; discovery starts here
	ClientID     string    // authd's client id at the provider
	ClientSecret Secret    // unset for a public client using PKCE alone
	Scopes       []string  // requested upstream; must hold "openid"
	PKCE         bool      // default true
	DeclRange    hcl.Range // the block header, where diagnostics about the block point

	// AssumeEmailVerified makes an email the provider sends without an
	// email_verified claim count as verified (federated_login matches
	// users by verified emails only). Off by default: a provider that
	// says nothing may let its users set any address, and matching on it
	// would hand them the local account of that address. For providers
	// whose administrators set every address and that never send the
	// claim. An explicit email_verified = false is refused all the same.
	AssumeEmailVerified bool
}

// edgeRef is an edge as written, before its target is resolved.
type edgeRef struct {
	outcome engine.Outcome
	target  ref
}
