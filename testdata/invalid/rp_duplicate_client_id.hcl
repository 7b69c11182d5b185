realm "corp" {}

relying_party "cron" {
  realm         = realm.corp
  client_secret = env("GRAFANA_SECRET")
  grant_types   = ["client_credentials"]
}

relying_party "cron2" {
  realm         = realm.corp
  client_id     = "cron"
  client_secret = env("GRAFANA_SECRET")
  grant_types   = ["client_credentials"]
}
