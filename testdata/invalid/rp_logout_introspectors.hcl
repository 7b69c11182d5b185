realm "corp" {
  sso_session_ttl = "0"
}

realm "lab" {
  sso_session_ttl = "45d"
}

journey "web" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = success, failure = failure, locked = failure }
  }
}

relying_party "web" {
  realm         = realm.corp
  journey       = journey.web
  client_secret = env("GRAFANA_SECRET")
  redirect_uris = ["https://app.example.com/cb"]
  post_logout_redirect_uris = [
    "https://app.example.com/bye",
    "http://app.example.com/bye",
    "https://app.example.com/bye#top",
  ]
  introspectors = [relying_party.web, relying_party.spa, relying_party.lab_api, relying_party.orders_apy]
}

relying_party "spa" {
  realm         = realm.corp
  journey       = journey.web
  client_type   = "public"
  redirect_uris = ["https://spa.example.com/cb"]
}

relying_party "orders_api" {
  realm         = realm.corp
  client_secret = env("GRAFANA_SECRET")
  grant_types   = ["client_credentials"]
  post_logout_redirect_uris = ["https://orders.example.com/bye"]
  introspectors = "web"
}

relying_party "lab_api" {
  realm         = realm.lab
  client_secret = env("GRAFANA_SECRET")
  grant_types   = ["client_credentials"]
}
