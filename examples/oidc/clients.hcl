# The relying parties: FortiAuthenticator's three client kinds.

# 1. A confidential web app (server-side, keeps a secret): the code flow
#    with PKCE, refresh tokens, and a push on every new browser session.
relying_party "webapp" {
  realm         = realm.corp
  journey       = journey.push
  client_type   = "confidential"
  client_secret = env("WEBAPP_SECRET")
  grant_types   = ["authorization_code", "refresh_token"]
  redirect_uris = ["http://127.0.0.1:8080/callback", "https://app.example.com/callback"]
  # Where /oauth2/logout may send the browser back to (exact match).
  post_logout_redirect_uris = ["http://127.0.0.1:8080/", "https://app.example.com/"]
  scopes                    = ["openid", "profile", "email", "groups", "offline_access"]
  access_token_ttl          = "1h"
  refresh_token_ttl         = "1d"
  # The orders API may introspect this app's access tokens.
  introspectors = [relying_party.orders_api]

  claim "groups" {
    scope = "groups"
    value = user.groups
  }
}

# 2. A public single-page app (runs in the browser, keeps no secret): the
#    code flow with PKCE (S256, always for a public client), JWT access
#    tokens its API can check against the JWKS.
relying_party "spa" {
  realm                     = realm.corp
  journey                   = journey.password
  client_type               = "public"
  grant_types               = ["authorization_code", "refresh_token"]
  redirect_uris             = ["http://127.0.0.1:5173/callback", "https://spa.example.com/callback"]
  post_logout_redirect_uris = ["http://127.0.0.1:5173/", "https://spa.example.com/"]
  scopes                    = ["openid", "profile", "email"]
  access_token_format       = "jwt"
  access_token_ttl          = "15m"
  refresh_token_ttl         = "8h"
}

# 3. A service (a batch job, another backend): client credentials only, so
#    no user and no journey. Its secret is stored as a hash (bcrypt here;
#    argon2id and sha512-crypt work too): authd verifies it once and then
#    keeps a keyed HMAC of it, so later grants stay fast. The secret of
#    this hash is in README.md — make your own for anything real.
relying_party "reports" {
  realm               = realm.corp
  client_type         = "confidential"
  client_secret_hash  = "$2a$10$OjmoNR4075wvnYL4cCRHIepCcXVhPPqoUlNslQPVYi9FeB0A08uky"
  grant_types         = ["client_credentials"]
  scopes              = ["orders:read"]
  access_token_format = "jwt"
  access_token_ttl    = "10m"
}

# The resource server the web app's tokens are for: it authenticates with
# its own secret to introspect them (RFC 7662).
relying_party "orders_api" {
  realm              = realm.corp
  client_type        = "confidential"
  client_secret_hash = "$2a$10$hBauhLJoNff3mKCmM7UhdeDaXwAPU.X5CBv7OJfw/II9Rhb.e2iKC"
  grant_types        = ["client_credentials"]
  scopes             = ["orders:read"]
}
