# The same configuration as new/, written differently: authd diff finds
# no change in meaning.
server {
  http {
    listen     = "127.0.0.1:9000"
    public_url = "https://auth.example.com"
  }
}

realm "corp" {
  lockout {
    max_failures = 5
    window       = "15m"
    duration     = "15m"
  }
}

journey "vpn" {
  realm = realm.corp
  start = node.login

  node "credentials" "login" {
    next = node.check
  }
  node "password_check" "check" {
    outcomes = { success = node.verify, failure = failure, locked = failure }
  }
  node "otp_verify" "verify" {
    outcomes = { success = success, failure = node.retry, not_enrolled = failure }
  }
  node "retry_limit" "retry" {
    limit    = 3
    outcomes = { retry = node.verify, reject = failure }
  }
  node "message" "sorry" {
    text = { en = "Sorry" }
    next = failure
  }
}

relying_party "wiki" {
  realm            = realm.corp
  journey          = journey.vpn
  client_id        = "wiki"
  client_secret    = env("WIKI_SECRET")
  grant_types      = ["authorization_code"]
  pkce             = "required"
  redirect_uris    = ["https://wiki.example.com/callback"]
  scopes           = ["openid", "email"]
  access_token_ttl = "1h"
}

radius_client "fw" {
  address                       = "192.0.2.10/32"
  secret                        = env("FW_SECRET")
  require_message_authenticator = true
}

radius_policy "staff" {
  clients = [radius_client.fw]
  realm   = realm.corp
  journey = journey.vpn
  when    = request.radius.nas_identifier == "staff"
}

radius_policy "rest" {
  clients = [radius_client.fw]
  realm   = realm.corp
  journey = journey.vpn
  reply_attributes = {
    "Session-Timeout" = 3600
  }
}
