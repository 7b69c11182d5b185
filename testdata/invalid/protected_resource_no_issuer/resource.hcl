realm "corp" {}

# No relying_party: authd issues no tokens for these to check.
protected_resource "orders" {
  realm           = realm.corp
  required_scopes = ["orders:read"]
}

protected_resource "billing" {
  realm            = realm.corp
  token_validation = "external"
  required_scopes  = ["billing"]
}

# Another issuer's tokens need no relying party here.
protected_resource "partner" {
  realm           = realm.corp
  required_scopes = ["partner"]
  jwks_url        = "https://idp.example.com/jwks"
  issuer          = "https://idp.example.com"
}
