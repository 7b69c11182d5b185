realm "corp" {}

relying_party "cron" {
  realm             = realm.corp
  client_secret     = env("GRAFANA_SECRET")
  grant_types       = ["client_credentials"]
  access_token_ttl  = "0"
  refresh_token_ttl = "forever"
}
