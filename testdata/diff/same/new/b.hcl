# Front ends first this time, and pkce left to its default.
relying_party "wiki" {
  realm            = realm.corp
  journey          = journey.vpn
  client_id        = "wiki"
  client_secret    = env("WIKI_SECRET")
  grant_types      = ["authorization_code"]
  redirect_uris    = ["https://wiki.example.com/callback"]
  scopes           = ["openid", "email"]
  access_token_ttl = "3600s"
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
