# The "after": see old/config.hcl.
server {
  http {
    listen     = "127.0.0.1:9000"
    public_url = "https://auth.example.com"
  }
}

realm "corp" {}

journey "vpn" {
  realm = realm.corp
  start = node.login

  node "credentials" "login" {
    next = node.check
  }
  node "password_check" "check" {
    outcomes = { success = node.verify, failure = node.notice, locked = success }
  }
  node "otp_verify" "verify" {
    window   = 2
    outcomes = { success = success, failure = node.retry, not_enrolled = failure }
  }
  node "retry_limit" "retry" {
    limit    = 5
    outcomes = { retry = node.verify, reject = failure }
  }
  node "message" "notice" {
    text = { en = "Wrong password" }
    next = failure
  }
}

relying_party "wiki" {
  realm            = realm.corp
  journey          = journey.vpn
  client_id        = "wiki"
  client_secret    = "correct-horse-battery-staple"
  grant_types      = ["authorization_code"]
  pkce             = "optional"
  redirect_uris    = ["https://wiki.example.com/callback", "https://wiki2.example.com/callback"]
  scopes           = ["openid", "email"]
  access_token_ttl = "1d"
}

radius_client "fw" {
  address                       = "192.0.2.0/24"
  secret                        = env("FW_SECRET")
  require_message_authenticator = false
}

radius_policy "rest" {
  clients = [radius_client.fw]
  realm   = realm.corp
  journey = journey.vpn
  reply_attributes = {
    "Session-Timeout" = 28800
  }
}

radius_policy "staff" {
  clients = [radius_client.fw]
  realm   = realm.corp
  journey = journey.vpn
  when    = request.radius.nas_identifier == "staff"
}
