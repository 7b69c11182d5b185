realm "corp" {}

relying_party "web" {
  realm         = realm.corp
  client_secret = env("GRAFANA_SECRET")
  grant_types   = ["authorization_code", "refresh_token"]
  redirect_uris = ["https://app.example.com/cb"]
}

relying_party "cron" {
  realm         = realm.corp
  client_secret = env("GRAFANA_SECRET")
  grant_types   = ["client_credentials"]
}
