realm "corp" {}

relying_party "service" {
  realm         = realm.corp
  client_secret = env("GRAFANA_SECRET")
  grant_types   = ["client_credentials"]
  scopes        = ["orders:read"]
}

# Internal: settings of the other mode, issuer without jwks_url, bad scopes.
protected_resource "orders" {
  realm             = realm.corp
  required_scopes   = ["orders:read", "orders read", "orders:read"]
  issuer            = "https://idp.example.com"
  validate_interval = "10s"
  introspection_url = "https://idp.example.com/introspect"
}

# Internal with another issuer's keys: jwks_url over http, no issuer.
protected_resource "partner" {
  realm           = realm.corp
  required_scopes = ["partner"]
  jwks_url        = "http://idp.example.com/jwks"
  audience        = []
}

# External: credentials missing, interval with another frequency, too long.
protected_resource "billing" {
  realm              = realm.corp
  token_validation   = "external"
  required_scopes    = ["billing"]
  introspection_url  = "https://idp.example.com/introspect"
  client_id          = "billing"
  validate_frequency = "session"
  validate_interval  = "1m"
  jwks_url           = "https://idp.example.com/jwks"
}

protected_resource "ledger" {
  realm              = realm.corp
  token_validation   = "external"
  required_scopes    = ["ledger"]
  client_secret      = "literal-secret-value"
  validate_frequency = "sometimes"
  validate_interval  = "2d"

  header "X-Authd-User" { claim = "email" }
  header "X Email" { claim = "email" }
  header "X-Email" { claim = "email" }
  header "x-email" { claim = "" }
}
