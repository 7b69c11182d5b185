realm "corp" {}

journey "web" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = success, failure = failure, locked = failure }
  }
}

relying_party "spa" {
  realm         = realm.corp
  journey       = journey.web
  client_type   = "public"
  client_secret = env("GRAFANA_SECRET")
  pkce          = "optional"
  grant_types   = ["authorization_code", "client_credentials"]
  redirect_uris = ["https://spa.example.com/callback"]
}
