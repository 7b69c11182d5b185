relying_party "grafana" {
  realm               = realm.corp
  journey             = journey.web
  client_type         = "confidential"
  client_id           = "grafana"
  client_secret       = env("GRAFANA_SECRET")
  grant_types         = ["authorization_code", "refresh_token"]
  pkce                = "required"
  redirect_uris       = ["https://grafana.example.com/login/generic_oauth"]
  scopes              = ["openid", "profile", "email", "groups"]
  access_token_ttl    = "10h"
  refresh_token_ttl   = "1d"
  access_token_format = "jwt"

  claim "groups" {
    scope = "groups"
    value = user.groups
  }
}

# authd as resource server / forward-auth.
protected_resource "orders_api" {
  realm            = realm.corp
  token_validation = "internal"
  required_scopes  = ["orders:read"]
}

# authd as OAuth client of an upstream provider.
identity_provider "oidc" "google" {
  issuer        = "https://accounts.google.com"
  client_id     = env("G_ID")
  client_secret = env("G_SECRET")
  scopes        = ["openid", "email"]
  pkce          = true
}
