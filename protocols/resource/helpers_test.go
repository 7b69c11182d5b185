package resource_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/engine/users"
	_ "github.com/authd/authd/nodes" // the node types a configuration may use
	"github.com/authd/authd/protocols/oauth"
	"github.com/authd/authd/protocols/resource"
)

// Secrets of the fixture's clients.
const (
	serviceSecret = "service-secret-0123456789abcdef0123456"
	gatewaySecret = "gateway-secret-0123456789abcdef012345"
)

// baseHCL is authd issuing tokens (%[1]s is the issuer); resources are
// appended per test.
const baseHCL = `
server {
  http {
    listen     = "127.0.0.1:0"
    public_url = "%[1]s"
  }
}

realm "corp" {}
realm "lab" {}

relying_party "service" {
  realm               = realm.corp
  client_secret       = env("SERVICE_SECRET")
  grant_types         = ["client_credentials"]
  scopes              = ["orders:read", "orders:write"]
  access_token_format = "jwt"
  access_token_ttl    = "1h"
  introspectors       = [relying_party.gateway]
}

relying_party "opaque" {
  realm               = realm.corp
  client_secret       = env("SERVICE_SECRET")
  grant_types         = ["client_credentials"]
  scopes              = ["orders:read", "orders:write"]
  access_token_ttl    = "1h"
  introspectors       = [relying_party.gateway]
}

relying_party "lab_service" {
  realm               = realm.lab
  client_secret       = env("SERVICE_SECRET")
  grant_types         = ["client_credentials"]
  scopes              = ["orders:read"]
  access_token_format = "jwt"
}

# The gateway's own client, for introspection over HTTP.
relying_party "gateway" {
  realm         = realm.corp
  client_secret = env("GATEWAY_SECRET")
  grant_types   = ["client_credentials"]
}
`

// fixture is authd's provider and the resource server on one loopback
// HTTP server, with a clock the test moves forward.
type fixture struct {
	t      *testing.T
	url    string
	prov   *oauth.Provider
	rs     *resource.Server
	offset atomic.Int64 // added to the resource server's clock
}

func (fx *fixture) now() time.Time { return time.Now().Add(time.Duration(fx.offset.Load())) }

// advance moves the resource server's clock (not the provider's).
func (fx *fixture) advance(d time.Duration) { fx.offset.Add(int64(d)) }

// start serves baseHCL plus resources (%[1]s in them is the issuer).
func start(t *testing.T, resources string) *fixture {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{t: t, url: "http://" + ln.Addr().String()}
	cfg := load(t, fmt.Sprintf(baseHCL+resources, fx.url))
	kv := memstore.New()
	repo := users.NewRepo(kv)
	log := slog.New(slog.DiscardHandler)
	eng := engine.New(engine.Options{KV: kv, Users: repo, Log: log})
	eng.Load(cfg.Program)
	if fx.prov, err = oauth.New(eng, kv, repo, oauth.FromDSL(cfg), log); err != nil {
		t.Fatal(err)
	}
	fx.rs = resource.New(resource.Options{Local: fx.prov, Log: log, Now: fx.now})
	if err := fx.rs.Load(cfg); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", fx.prov.Handler())
	mux.Handle("/api/v1/authz/", fx.rs.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); _ = kv.Close() })
	return fx
}

func load(t *testing.T, src string) *dsl.Config {
	t.Helper()
	env := map[string]string{"SERVICE_SECRET": serviceSecret, "GATEWAY_SECRET": gatewaySecret}
	cfg, diags := dsl.LoadSources(map[string][]byte{"test.hcl": []byte(src)}, "", dsl.Options{
		RequireEnv: true,
		LookupEnv:  func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	if diags.HasErrors() {
		t.Fatalf("configuration: %s", diags.Error())
	}
	return cfg
}

// token gets an access token by client credentials.
func (fx *fixture) token(client, scope string) string {
	fx.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
	req, _ := http.NewRequest(http.MethodPost, fx.url+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, serviceSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fx.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &out); err != nil || out.AccessToken == "" {
		fx.t.Fatalf("token for %s: %s %s", client, resp.Status, body)
	}
	return out.AccessToken
}

// revoke revokes a token of client (RFC 7009).
func (fx *fixture) revoke(client, token string) {
	fx.t.Helper()
	form := url.Values{"token": {token}}
	req, _ := http.NewRequest(http.MethodPost, fx.url+"/oauth2/revoke", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, serviceSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fx.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fx.t.Fatalf("revoke: %s", resp.Status)
	}
}

// authz asks the resource server about a request with the given
// Authorization header ("" for none).
func (fx *fixture) authz(name, authorization string) *http.Response {
	fx.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, fx.url+"/api/v1/authz/"+name, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fx.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// want checks an answer's status and headers ("" means absent).
type want struct {
	status int
	// challenge is the WWW-Authenticate header, exactly.
	challenge string
	headers   map[string]string
}

func (w want) check(t *testing.T, resp *http.Response) {
	t.Helper()
	if resp.StatusCode != w.status {
		t.Fatalf("status %d, want %d (WWW-Authenticate %q)", resp.StatusCode, w.status, resp.Header.Get("WWW-Authenticate"))
	}
	if got := resp.Header.Get("WWW-Authenticate"); got != w.challenge {
		t.Errorf("WWW-Authenticate %q, want %q", got, w.challenge)
	}
	for k, v := range w.headers {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
}

const (
	invalidToken = `, error="invalid_token", error_description="The access token is invalid, expired or revoked."`
)
