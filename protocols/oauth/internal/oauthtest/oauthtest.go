// Package oauthtest starts a complete OAuth provider for tests, the Node
// and browser suites and the benchmark: a configuration in HCL loaded
// through dsl (so FromDSL is exercised too), the built-in credentials and
// password_check nodes plus test stand-ins for codes, pushes and QR
// enrolment, users in the store, and an HTTP server on loopback.
package oauthtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/engine/users"
	_ "github.com/authd/authd/nodes" // credentials, password_check, choice
	"github.com/authd/authd/protocols/oauth"
)

// Secrets of the fixture's confidential clients.
const (
	WebSecret     = "web-secret-0123456789abcdef0123456789"
	ServiceSecret = "service-secret-0123456789abcdef012345"
	CLISecret     = "cli-secret-0123456789abcdef0123456789"
	RSSecret      = "rs-secret-0123456789abcdef01234567890"
	// HashedSecret is the secret of "hashed", stored as an argon2id hash.
	HashedSecret = "hashed-secret-0123456789abcdef0123456"
)

// Users of the fixture.
const (
	Alice         = "alice"
	AlicePassword = "alice-password-1"
	Bob           = "bob"
	BobPassword   = "bob-password-1"
)

// CallbackPath is where the fixture's relying parties are redirected; the
// fixture server answers it with a small page.
const CallbackPath = "/app/callback"

// Options tune Start.
type Options struct {
	// Bolt stores in a bbolt file under Dir (a temporary directory when
	// empty) instead of memory.
	Bolt bool
	Dir  string
	// Log receives the provider's log (default: discarded).
	Log *slog.Logger
	// Mutate edits the provider config before New (lifetimes, grace).
	Mutate func(*oauth.Config)
	// Extra adds handlers to the fixture server (pprof for the benchmark).
	Extra func(*http.ServeMux)
}

// Fixture is a running provider.
type Fixture struct {
	URL      string // issuer, e.g. http://127.0.0.1:41234
	Callback string // URL + CallbackPath
	KV       store.KV
	Engine   *engine.Engine
	Users    *users.Repo
	Provider *oauth.Provider
	Config   oauth.Config
	srv      *http.Server
	tmp      string
}

// HCL is the fixture configuration; %[1]s is the issuer.
const HCL = `
server {
  http {
    listen     = "127.0.0.1:0"
    public_url = "%[1]s"
  }
}

realm "corp" {
  display_name    = "Example Corp"
  sso_session_ttl = "2h"
}

journey "password" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" {
    next = node.check
  }
  node "password_check" "check" {
    outcomes = { success = success, failure = failure, locked = failure }
  }
}

journey "mfa" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" {
    next = node.check
  }
  node "password_check" "check" {
    outcomes = { success = node.method, failure = failure, locked = failure }
  }
  node "choice" "method" {
    prompt   = "How do you want to confirm it is you?"
    options  = ["code", "push", "cancel"]
    outcomes = { code = node.code, push = node.push, cancel = failure }
  }
  node "test_code" "code" {
    outcomes = { success = success, failure = failure }
  }
  node "test_push" "push" {
    outcomes = { approved = success, denied = failure }
  }
}

journey "enrol" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" {
    next = node.check
  }
  node "password_check" "check" {
    outcomes = { success = node.qr, failure = failure, locked = failure }
  }
  node "test_qr" "qr" {
    next = success
  }
}

relying_party "web" {
  realm         = realm.corp
  journey       = journey.mfa
  client_type   = "confidential"
  client_id     = "web"
  client_secret = env("WEB_SECRET")
  grant_types   = ["authorization_code", "refresh_token"]
  pkce          = "optional"
  redirect_uris = ["%[1]s/app/callback"]
  scopes        = ["openid", "profile", "email", "groups", "offline_access"]
  claim "groups" {
    scope = "groups"
    value = user.groups
  }
  claim "department" {
    scope = "profile"
    value = lookup(user.attributes, "department", "none")
  }
}

relying_party "spa" {
  realm         = realm.corp
  journey       = journey.password
  client_type   = "public"
  client_id     = "spa"
  grant_types   = ["authorization_code", "refresh_token"]
  redirect_uris = ["%[1]s/app/callback"]
  scopes        = ["openid", "profile", "email"]
  access_token_format = "jwt"
}

relying_party "portal" {
  realm         = realm.corp
  journey       = journey.password
  client_type   = "confidential"
  client_id     = "portal"
  client_secret = env("WEB_SECRET")
  pkce          = "optional"
  redirect_uris = ["%[1]s/app/callback"]
  scopes        = ["openid", "profile", "email"]
  post_logout_redirect_uris = ["%[1]s/app/signed-out"]
}

relying_party "enrol" {
  realm         = realm.corp
  journey       = journey.enrol
  client_type   = "public"
  client_id     = "enrol"
  redirect_uris = ["%[1]s/app/callback"]
  scopes        = ["openid"]
}

relying_party "service" {
  realm               = realm.corp
  client_type         = "confidential"
  client_id           = "service"
  client_secret       = env("SERVICE_SECRET")
  grant_types         = ["client_credentials"]
  scopes              = ["orders:read", "orders:write"]
  access_token_format = "jwt"
  introspectors       = [relying_party.orders_rs]
}

relying_party "opaque_service" {
  realm         = realm.corp
  client_type   = "confidential"
  client_id     = "opaque-service"
  client_secret = env("SERVICE_SECRET")
  grant_types   = ["client_credentials"]
  scopes        = ["orders:read"]
}

relying_party "cli" {
  realm         = realm.corp
  journey       = journey.password
  client_type   = "confidential"
  client_id     = "cli"
  client_secret = env("CLI_SECRET")
  grant_types   = ["password", "refresh_token"]
  scopes        = ["openid", "profile", "email"]
}

relying_party "cli_mfa" {
  realm         = realm.corp
  journey       = journey.mfa
  client_type   = "confidential"
  client_id     = "cli-mfa"
  client_secret = env("CLI_SECRET")
  grant_types   = ["password"]
  scopes        = ["openid"]
}

relying_party "hashed" {
  realm              = realm.corp
  client_type        = "confidential"
  client_id          = "hashed"
  client_secret_hash = "%[2]s"
  grant_types        = ["client_credentials"]
  scopes             = ["orders:read"]
}

relying_party "rs" {
  realm         = realm.corp
  client_type   = "confidential"
  client_id     = "rs"
  client_secret = env("RS_SECRET")
  grant_types   = ["client_credentials"]
  scopes        = ["introspect"]
}

# A resource server named by "service": it may introspect service's tokens.
relying_party "orders_rs" {
  realm         = realm.corp
  client_id     = "orders-rs"
  client_secret = env("RS_SECRET")
  grant_types   = ["client_credentials"]
}
`

// Start loads the fixture configuration, creates the users and serves the
// provider on 127.0.0.1 with a random port.
func Start(o Options) (*Fixture, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	fx := &Fixture{URL: "http://" + ln.Addr().String()}
	fx.Callback = fx.URL + CallbackPath
	ok := false
	defer func() {
		if !ok {
			_ = ln.Close()
			fx.Close()
		}
	}()
	hash, err := secretHash()
	if err != nil {
		return nil, err
	}
	env := map[string]string{"WEB_SECRET": WebSecret, "SERVICE_SECRET": ServiceSecret, "CLI_SECRET": CLISecret, "RS_SECRET": RSSecret}
	cfg, diags := dsl.LoadSources(map[string][]byte{"fixture.hcl": fmt.Appendf(nil, HCL, fx.URL, hash)}, "", dsl.Options{
		RequireEnv: true,
		LookupEnv:  func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	if diags.HasErrors() {
		return nil, fmt.Errorf("fixture configuration: %s", diags.Error())
	}
	if o.Bolt {
		dir := o.Dir
		if dir == "" {
			if dir, err = os.MkdirTemp("", "authd-oauth-*"); err != nil {
				return nil, err
			}
			fx.tmp = dir
		}
		st, err := boltstore.Open(filepath.Join(dir, "authd.db"), boltstore.Options{})
		if err != nil {
			return nil, err
		}
		fx.KV = st
	} else {
		fx.KV = memstore.New()
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	fx.Users = users.NewRepo(fx.KV)
	fx.Engine = engine.New(engine.Options{KV: fx.KV, Users: fx.Users, Log: log})
	fx.Engine.Load(cfg.Program)
	pushes.Lock()
	pushes.eng = fx.Engine
	pushes.Unlock()
	if err := fx.addUsers(); err != nil {
		return nil, err
	}
	fx.Config = oauth.FromDSL(cfg)
	if o.Mutate != nil {
		o.Mutate(&fx.Config)
	}
	fx.Provider, err = oauth.New(fx.Engine, fx.KV, fx.Users, fx.Config, log)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/", fx.Provider.Handler())
	mux.HandleFunc("GET "+CallbackPath, callbackPage)
	if o.Extra != nil {
		o.Extra(mux)
	}
	fx.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = fx.srv.Serve(ln) }()
	ok = true
	return fx, nil
}

func (fx *Fixture) addUsers() error {
	now := time.Now()
	for _, u := range []struct {
		user *users.User
		pw   string
	}{
		{&users.User{Realm: "corp", Name: Alice, Email: "alice@example.com", Groups: []string{"staff", "admins"},
			Attributes: map[string]string{"name": "Alice Liddell", "department": "engineering"}}, AlicePassword},
		{&users.User{Realm: "corp", Name: Bob, Email: "bob@example.com", Groups: []string{"staff"}}, BobPassword},
	} {
		// bcrypt at its minimum cost: the tests log in hundreds of times
		// (under -race too); what the hash costs is the users package's
		// business, not the provider's.
		h, err := bcrypt.GenerateFromPassword([]byte(u.pw), bcrypt.MinCost)
		if err != nil {
			return err
		}
		u.user.PasswordHash = string(h)
		u.user.Created, u.user.Updated = now, now
		if err := fx.Users.Create(u.user); err != nil && !errors.Is(err, users.ErrExists) {
			return err
		}
	}
	return nil
}

var hashOnce struct {
	sync.Once
	hash string
	err  error
}

// secretHash is the argon2id hash of HashedSecret, computed once per
// process (it costs 0.1 s of both cores).
func secretHash() (string, error) {
	hashOnce.Do(func() { hashOnce.hash, hashOnce.err = users.HashPassword(HashedSecret) })
	return hashOnce.hash, hashOnce.err
}

// Close stops the server and the store.
func (fx *Fixture) Close() {
	if fx.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = fx.srv.Shutdown(ctx)
		cancel()
	}
	if fx.KV != nil {
		_ = fx.KV.Close()
	}
	if fx.tmp != "" {
		_ = os.RemoveAll(fx.tmp)
	}
}

// callbackPage stands in for a relying party's redirect target.
func callbackPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	q := r.URL.Query()
	status := "Signed in"
	if e := q.Get("error"); e != "" {
		status = "Sign-in failed: " + e
	}
	fmt.Fprintf(w, "<!DOCTYPE html><html lang=en><head><title>Test app</title></head><body><h1 id=status>%s</h1><p>code length %d</p></body></html>",
		htmlEscape(status), len(q.Get("code")))
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
