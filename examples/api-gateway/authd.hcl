# authd in front of an API: it issues the tokens (relying parties) and
# answers nginx's auth_request (or Traefik's/Caddy's forward-auth) for every
# call to the API (protected resources). nginx.conf is the gateway; see
# README.md.

server {
  http {
    listen = "127.0.0.1:9000"
    # The issuer (iss) of the tokens authd signs.
    public_url = "http://127.0.0.1:9000"
  }
  store {
    path = "authd.db"
  }
}

realm "corp" {
  display_name = "Example Corp"

  lockout {
    max_failures = 5
    window       = "15m"
    duration     = "15m"
  }
}

journey "password" {
  realm       = realm.corp
  description = "Name and password"
  start       = node.login

  node "credentials" "login" {
    next = node.check
  }

  node "password_check" "check" {
    outcomes = {
      success = success
      failure = failure
      locked  = failure
    }
  }
}

# The app users sign in to: its access tokens are RFC 9068 JWTs, so the
# gateway's checks of the orders API need no call to the store. The
# password grant is here so the README can get a token with curl; a real
# web app uses authorization_code with PKCE.
relying_party "web" {
  realm               = realm.corp
  journey             = journey.password
  client_type         = "confidential"
  client_secret       = env("WEB_SECRET")
  grant_types         = ["authorization_code", "refresh_token", "password"]
  redirect_uris       = ["http://127.0.0.1:8080/callback"]
  scopes              = ["openid", "profile", "orders:read", "orders:write", "billing:read"]
  access_token_format = "jwt"
  access_token_ttl    = "15m"
  refresh_token_ttl   = "8h"
}

# A batch job: client credentials, no user (its tokens' sub is the client).
relying_party "reports" {
  realm               = realm.corp
  client_type         = "confidential"
  client_secret       = env("REPORTS_SECRET")
  grant_types         = ["client_credentials"]
  scopes              = ["orders:read"]
  access_token_format = "jwt"
  access_token_ttl    = "10m"
}

# GET /api/v1/authz/orders: nginx asks this before every call under
# /orders/. Internal validation: the JWT's signature against authd's own
# keys, typ, iss, exp and nbf, locally; no store lookup per call, so a
# revoked JWT passes until it expires (keep access_token_ttl short).
protected_resource "orders" {
  realm            = realm.corp
  token_validation = "internal"
  required_scopes  = ["orders:read"]

  # Passed to the API besides X-Authd-User and X-Authd-Scopes.
  header "X-Authd-Client" {
    claim = "client_id"
  }
}

# /admin/: every listed scope must be in the token, else 403 with
# WWW-Authenticate: Bearer error="insufficient_scope".
protected_resource "admin" {
  realm            = realm.corp
  token_validation = "internal"
  required_scopes  = ["orders:read", "orders:write"]
}

# /billing/: external validation, RFC 7662 introspection. Without an
# introspection_url authd asks its own token store (in process), so a
# revoked token is refused once its cached answer (validate_interval) runs
# out. For another issuer, add introspection_url, client_id and
# client_secret (a client that may introspect that issuer's tokens).
protected_resource "billing" {
  realm              = realm.corp
  token_validation   = "external"
  required_scopes    = ["billing:read"]
  validate_frequency = "interval"
  validate_interval  = "30s"
}
