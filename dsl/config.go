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
	// Strict turns every warning into an error (`authd validate -strict`),
	// so CI can keep literal secrets and unreachable nodes out of main.
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

	RelyingParties map[string]*RelyingParty
	RADIUSClients  map[string]*RADIUSClient
	// RADIUSPolicies are in file order (files sorted by name, then blocks
	// by position) because the first matching policy wins.
	RADIUSPolicies     []*RADIUSPolicy
	PushProviders      map[string]*PushProvider
	SMSGateways        map[string]*SMSGateway
	ProtectedResources map[string]*ProtectedResource
	IdentityProviders  map[string]*IdentityProvider

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
	HTTP   HTTP
	RADIUS *RADIUS // nil: no RADIUS listener
	Store  Store
	// DeclRange is the server block's header, or an empty range when the
	// configuration has no server block and every default applies.
	DeclRange hcl.Range
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
	Listen string
	// PublicURL is the address phones and browsers reach (behind NAT or a
	// proxy it differs from Listen); empty means derive it from Listen.
	PublicURL string
	TLS       *TLS // nil: plain HTTP (a proxy terminates TLS)
	DeclRange hcl.Range
}

// TLS is server.http.tls. The paths are resolved against the directory of
// the file that declares them.
type TLS struct {
	CertFile  string
	KeyFile   string
	DeclRange hcl.Range
}

// RADIUS is server.radius.
type RADIUS struct {
	Listen string
	// AccountingListen is the accounting port; empty means none.
	AccountingListen string
	DeclRange        hcl.Range
}

// Store is server.store. Path is relative to the data directory.
type Store struct {
	Path string
	// EncryptionKey encrypts secrets at rest in the store; unset means the
	// store is not encrypted.
	EncryptionKey Secret
	DeclRange     hcl.Range
}

// Realm is a decoded realm block together with the engine's view of it.
type Realm struct {
	*engine.Realm
	DeclRange hcl.Range

	srcRange hcl.Range
}

// Journey is a decoded journey block; Compiled is what the engine runs.
type Journey struct {
	Name           string
	Realm          string
	Description    string
	Start          string
	SessionTimeout time.Duration
	// Nodes are in source order, which `authd graph` keeps.
	Nodes     []*Node
	Compiled  *engine.Journey
	DeclRange hcl.Range

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
	Name string
	Type string
	// Settings is the node type's decoded settings struct.
	Settings any
	// Outcomes are the outcomes the settings produce, in the type's order.
	Outcomes []engine.Outcome
	// Edges maps each wired outcome to a node name or a terminal.
	Edges     map[engine.Outcome]string
	DeclRange hcl.Range

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
	Name    string
	Realm   string
	Journey string // "" when the only grant is client_credentials
	// ClientType is "confidential" (the default) or "public".
	ClientType string
	// ClientID defaults to the block's name.
	ClientID string
	// ClientSecret is set for a confidential client that declares
	// client_secret; ClientSecretHash for one that declares a hash.
	ClientSecret     Secret
	ClientSecretHash string
	// GrantTypes: authorization_code (the default), refresh_token,
	// password, client_credentials.
	GrantTypes []string
	// PKCE is "required" (the default, and always for public clients) or
	// "optional". `pkce = true/false` are accepted as spellings of them.
	PKCE         string
	RedirectURIs []string
	Scopes       []string
	// AccessTokenTTL (default 10h) and RefreshTokenTTL (default 24h); zero
	// means the token never expires, which validate warns about.
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	// AccessTokenFormat is "opaque" (the default) or "jwt".
	AccessTokenFormat string
	Claims            []*Claim
	DeclRange         hcl.Range
}

// Default token lifetimes of a relying party.
const (
	DefaultAccessTokenTTL  = 36000 * time.Second
	DefaultRefreshTokenTTL = 24 * time.Hour
)

// Claim is a claim block of a relying party: Value is a runtime expression
// over user, request and now, issued when the token grants Scope.
type Claim struct {
	Name      string
	Scope     string
	Value     hcl.Expression
	DeclRange hcl.Range
}

// RADIUSClient is a NAS (a VPN gateway, a switch) allowed to send
// Access-Requests.
type RADIUSClient struct {
	Name string
	// Address is the client's network: an IP becomes a /32 or /128. Nested
	// networks are allowed (the most specific wins); identical ones are not.
	Address *net.IPNet
	Secret  Secret
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
	DeclRange hcl.Range
}

// DefaultRADIUSClientTimeout is FortiGate's default remoteauthtimeout.
const DefaultRADIUSClientTimeout = 5 * time.Second

// RADIUSPolicy maps RADIUS requests to a realm and journey. Policies are
// tried in file order; the first whose clients and When match wins.
type RADIUSPolicy struct {
	Name string
	// Clients are radius_client names; empty means every client.
	Clients []string
	Realm   string
	Journey string
	// When is a runtime expression over request and user; nil means always.
	When hcl.Expression
	// ReplyAttributes is an object expression evaluated on Access-Accept
	// over user, request, now and the journey's state; nil means none. A
	// list value gives one attribute per element.
	ReplyAttributes hcl.Expression
	DeclRange       hcl.Range
}

// PushProvider delivers push notifications to enrolled devices. Exactly one
// of the typed settings is set, matching Type.
type PushProvider struct {
	Type      string // apns | fcm | poll | webhook
	Name      string
	APNS      *APNSSettings
	FCM       *FCMSettings
	Poll      *PollSettings
	Webhook   *WebhookSettings
	DeclRange hcl.Range
}

// APNSSettings are Apple push settings with token (.p8) authentication.
type APNSSettings struct {
	TeamID   string
	KeyID    string
	KeyFile  string // resolved against the declaring file's directory
	BundleID string
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
	URL     string
	Headers map[string]Secret
}

// SMSGateway sends one-time codes by SMS. Exactly one of the typed settings
// is set, matching Type.
type SMSGateway struct {
	Type      string // twilio | webhook | log
	Name      string
	Twilio    *TwilioSettings
	Webhook   *WebhookSettings
	Log       *LogSettings
	DeclRange hcl.Range
}

// TwilioSettings are the Twilio REST API credentials and sender.
type TwilioSettings struct {
	AccountSID string
	AuthToken  Secret
	From       string
}

// LogSettings are empty: the log gateway writes codes to the log, for
// development only.
type LogSettings struct{}

// ProtectedResource is an API that authd guards as a resource server or
// forward-auth endpoint.
type ProtectedResource struct {
	Name  string
	Realm string
	// TokenValidation is "internal" (the default: JWTs checked against
	// authd's own keys) or "external" (token introspection).
	TokenValidation string
	// RequiredScopes must all be present in the token.
	RequiredScopes []string
	DeclRange      hcl.Range
}

// IdentityProvider is an upstream OpenID Connect provider authd logs users
// in at (federated_login).
type IdentityProvider struct {
	Type         string // oidc
	Name         string
	Issuer       string
	ClientID     string
	ClientSecret Secret // unset for a public client using PKCE alone
	Scopes       []string
	PKCE         bool // default true
	DeclRange    hcl.Range
}

// edgeRef is an edge as written, before its target is resolved.
type edgeRef struct {
	outcome engine.Outcome
	target  ref
}
