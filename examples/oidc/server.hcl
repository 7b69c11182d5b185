# authd as an OpenID Connect provider for three kinds of client (the three
# FortiAuthenticator client types): a confidential web app whose users
# confirm with a push, a public single-page app with PKCE, and a service
# that authenticates itself with client credentials. See README.md.

server {
  http {
    listen = "127.0.0.1:9000"
    # The issuer: relying parties discover authd at
    # http://127.0.0.1:9000/.well-known/openid-configuration. Behind a proxy
    # this is the outside https:// address (cookies are Secure then).
    public_url = "http://127.0.0.1:9000"
  }
  store {
    path = "authd.db"
  }
}

realm "corp" {
  display_name    = "Example Corp"
  enrollment_mode = "single_device"
  # poll needs no outside service: `authd authenticator` (or an app that
  # fetches its pushes) stands in for the phone.
  push_providers = [push_provider.poll]
  # A browser that passed a journey skips it at every relying party that
  # asks for the same journey, for 8 hours (prompt=login forces it).
  sso_session_ttl = "8h"

  lockout {
    max_failures = 5
    window       = "15m"
    duration     = "15m"
  }
}

push_provider "poll" "poll" {}
