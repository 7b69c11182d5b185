realm "corp" {}

journey "web" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = success, failure = failure, locked = failure }
  }
}

relying_party "backend" {
  realm         = realm.corp
  client_secret = env("GRAFANA_SECRET")
  grant_types   = ["client_credentials"]
  redirect_uris = ["https://backend.example.com/cb"]
}

relying_party "web" {
  realm         = realm.corp
  journey       = journey.web
  client_secret = env("GRAFANA_SECRET")
  redirect_uris = [
    "http://app.example.com/cb",
    "http://127.0.0.1:8080/cb",
    "http://[::1]/cb",
    "http://localhost/cb",
    "https://app.example.com/cb#frag",
    "/relative",
    "javascript:alert(1)",
    "com.example.app:/oauth",
  ]
}

relying_party "nouris" {
  realm         = realm.corp
  journey       = journey.web
  client_secret = env("GRAFANA_SECRET")
}
