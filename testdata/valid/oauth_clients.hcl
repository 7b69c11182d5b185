realm "corp" {
  sso_session_ttl = "4h" # SSO lets relying parties skip a journey the browser passed for 4 hours
}

journey "web" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = success, failure = failure, locked = failure }
  }
}

# A single-page app: public, PKCE always, loopback redirect for development.
relying_party "spa" {
  realm         = realm.corp
  journey       = journey.web
  client_type   = "public"
  grant_types   = ["authorization_code", "refresh_token"]
  redirect_uris = ["https://spa.example.com/callback", "http://127.0.0.1:5173/callback", "http://[::1]:5173/callback", "http://localhost/cb", "com.example.app:/oauth"]
  scopes        = ["openid", "profile"]

  claim "name" {
    scope = "profile"
    value = user.name
  }
  claim "is_admin" {
    value = contains(user.groups, "admins")
  }
}

# A service: client credentials only, so no journey; the secret stored hashed.
relying_party "cron" {
  realm              = realm.corp
  client_secret_hash = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
  grant_types        = ["client_credentials"]
  scopes             = ["orders:read"]
}

# pkce as a bool is accepted too.
relying_party "legacy" {
  realm                     = realm.corp
  journey                   = journey.web
  client_secret             = env("GRAFANA_SECRET")
  pkce                      = false
  grant_types               = ["authorization_code", "password"]
  redirect_uris             = ["https://legacy.example.com/cb"]
  post_logout_redirect_uris = ["https://legacy.example.com/signed-out"]
  # The orders API (a resource server) may introspect legacy's tokens.
  introspectors = [relying_party.orders_api]
}

relying_party "orders_api" {
  realm         = realm.corp
  client_secret = env("GRAFANA_SECRET")
  grant_types   = ["client_credentials"]
}

protected_resource "orders" {
  realm            = realm.corp
  token_validation = "external"
  required_scopes  = ["orders:read"]
}
