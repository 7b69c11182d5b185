package resource_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

const ownResources = `
protected_resource "orders" {
  realm           = realm.corp
  required_scopes = ["orders:read"]
  header "X-Client" {
    claim = "client_id"
  }
  header "X-Audience" {
    claim = "aud"
  }
  header "X-Missing" {
    claim = "email"
  }
}

protected_resource "writes" {
  realm           = realm.corp
  required_scopes = ["orders:read", "orders:write"]
}

protected_resource "for_opaque_only" {
  realm           = realm.corp
  required_scopes = ["orders:read"]
  audience        = ["opaque"]
}
`

// TestInternalOwnTokens: authd's own tokens, JWTs checked by signature,
// opaque ones in the store.
func TestInternalOwnTokens(t *testing.T) {
	fx := start(t, ownResources)
	jwt := fx.token("service", "orders:read")
	jwtRW := fx.token("service", "orders:read orders:write")
	opaque := fx.token("opaque", "orders:read")
	lab := fx.token("lab_service", "orders:read")
	revoked := fx.token("opaque", "orders:read")
	fx.revoke("opaque", revoked)
	if !strings.HasPrefix(opaque, "authd_at_") || strings.Count(jwt, ".") != 2 {
		t.Fatalf("unexpected token shapes: %.12s %.12s", opaque, jwt)
	}
	parts := strings.Split(jwt, ".")
	tampered := parts[0] + "." + parts[1] + "x." + parts[2]
	other := strings.Split(jwtRW, ".")
	swapped := parts[0] + "." + other[1] + "." + parts[2] // payload of another token

	orders := `Bearer realm="orders"`
	for _, tc := range []struct {
		name, resource, auth string
		want                 want
	}{
		{"no token", "orders", "", want{status: 401, challenge: orders}},
		{"basic scheme", "orders", "Basic c2VydmljZTpzZWNyZXQ=", want{status: 401, challenge: orders}},
		{"empty bearer", "orders", "Bearer ", want{status: 401, challenge: orders}},
		{"garbage", "orders", "Bearer not-a-token", want{status: 401, challenge: orders + invalidToken}},
		{"JWT", "orders", "Bearer " + jwt, want{status: 200, headers: map[string]string{
			"X-Authd-User": "service", "X-Authd-Scopes": "orders:read", "X-Client": "service", "X-Audience": "service", "X-Missing": "",
		}}},
		{"scheme in lower case", "orders", "bearer " + jwt, want{status: 200, headers: map[string]string{"X-Authd-User": "service"}}},
		{"JWT, scope missing", "writes", "Bearer " + jwt, want{status: 403, challenge: `Bearer realm="writes", error="insufficient_scope", scope="orders:read orders:write"`,
			headers: map[string]string{"X-Authd-User": ""}}},
		{"JWT, all scopes", "writes", "Bearer " + jwtRW, want{status: 200, headers: map[string]string{"X-Authd-Scopes": "orders:read orders:write"}}},
		{"JWT tampered", "orders", "Bearer " + tampered, want{status: 401, challenge: orders + invalidToken}},
		{"JWT with another payload", "orders", "Bearer " + swapped, want{status: 401, challenge: orders + invalidToken}},
		{"opaque, from the store", "orders", "Bearer " + opaque, want{status: 200, headers: map[string]string{"X-Authd-User": "opaque", "X-Client": "opaque"}}},
		{"opaque, revoked", "orders", "Bearer " + revoked, want{status: 401, challenge: orders + invalidToken}},
		{"token of another realm", "orders", "Bearer " + lab, want{status: 401, challenge: orders + invalidToken}},
		{"audience matches", "for_opaque_only", "Bearer " + opaque, want{status: 200}},
		{"audience does not match", "for_opaque_only", "Bearer " + jwt, want{status: 401, challenge: `Bearer realm="for_opaque_only"` + invalidToken}},
		{"oversize token", "orders", "Bearer " + strings.Repeat("a", 9000), want{status: 401, challenge: orders + invalidToken}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.check(t, fx.authz(tc.resource, tc.auth))
		})
	}

	t.Run("unknown resource", func(t *testing.T) {
		if resp := fx.authz("nope", "Bearer "+jwt); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d, want 404", resp.StatusCode)
		}
	})
	t.Run("expired JWT", func(t *testing.T) {
		fx.advance(time.Hour + time.Second) // the tokens live 1h
		defer fx.advance(-(time.Hour + time.Second))
		want{status: 401, challenge: orders + invalidToken}.check(t, fx.authz("orders", "Bearer "+jwt))
	})
}

// TestReload: a reload swaps the resources in one step.
func TestReload(t *testing.T) {
	fx := start(t, ownResources)
	jwt := fx.token("service", "orders:read")
	if got := fx.rs.Names(); strings.Join(got, ",") != "for_opaque_only,orders,writes" {
		t.Fatalf("names %v", got)
	}
	cfg := load(t, strings.ReplaceAll(baseHCL, "%[1]s", fx.url)+`
protected_resource "orders" {
  realm           = realm.corp
  required_scopes = ["orders:write"]
}
`)
	if err := fx.rs.Load(cfg); err != nil {
		t.Fatal(err)
	}
	want{status: 403, challenge: `Bearer realm="orders", error="insufficient_scope", scope="orders:write"`}.check(t, fx.authz("orders", "Bearer "+jwt))
	if resp := fx.authz("writes", "Bearer "+jwt); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("removed resource answers %d, want 404", resp.StatusCode)
	}
}
