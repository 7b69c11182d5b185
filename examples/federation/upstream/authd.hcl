# The upstream provider of the federation example: a second authd on port
# 9100 with a password journey and one relying party, the federating authd.
# Run it with its own data directory (see ../README.md).

server {
  http {
    listen = "127.0.0.1:9100"
    # localhost, not 127.0.0.1: browsers keep cookies per host name, not
    # per port, and both authd instances name their login cookies alike.
    public_url = "http://localhost:9100"
  }
  store {
    path = "upstream.db"
  }
}

realm "staff" {
  display_name = "Upstream IdP"
}

journey "password" {
  realm = realm.staff
  start = node.login

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

relying_party "authd" {
  realm         = realm.staff
  journey       = journey.password
  client_type   = "confidential"
  client_id     = "authd-federation"
  client_secret = env("UPSTREAM_SECRET")
  grant_types   = ["authorization_code"]
  pkce          = "required"
  redirect_uris = ["http://127.0.0.1:9000/oauth2/federation/callback"]
  scopes        = ["openid", "profile", "email"]
}
