realm "corp" {}

relying_party "both" {
  realm              = realm.corp
  client_secret      = env("GRAFANA_SECRET")
  client_secret_hash = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
  grant_types        = ["client_credentials"]
}

relying_party "neither" {
  realm       = realm.corp
  grant_types = ["client_credentials"]
}

relying_party "badhash" {
  realm              = realm.corp
  client_secret_hash = "5f4dcc3b5aa765d61d8327deb882cf99"
  grant_types        = ["client_credentials"]
}
