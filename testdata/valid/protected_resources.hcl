realm "corp" {}

relying_party "service" {
  realm               = realm.corp
  client_secret       = env("GRAFANA_SECRET")
  grant_types         = ["client_credentials"]
  scopes              = ["orders:read", "orders:write"]
  access_token_format = "jwt"
}

# authd's own JWTs, checked locally; the email claim passed on.
protected_resource "orders" {
  realm           = realm.corp
  required_scopes = ["orders:read"]
  audience        = ["service"]

  header "X-Email" {
    claim = "email"
  }
}

# Another issuer's JWTs.
protected_resource "partner" {
  realm           = realm.corp
  required_scopes = ["partner:read"]
  jwks_url        = "https://idp.example.com/.well-known/jwks.json"
  issuer          = "https://idp.example.com"
}

# authd's own store, every answer kept 10 seconds.
protected_resource "ledger" {
  realm             = realm.corp
  token_validation  = "external"
  required_scopes   = ["orders:write"]
  validate_interval = "10s"
}

# Another server's introspection, once per token.
protected_resource "billing" {
  realm              = realm.corp
  token_validation   = "external"
  required_scopes    = ["billing"]
  introspection_url  = "https://idp.example.com/oauth2/introspect"
  client_id          = "billing-api"
  client_secret      = env("G_SECRET")
  validate_frequency = "session"
}
