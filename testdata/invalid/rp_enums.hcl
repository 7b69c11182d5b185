realm "corp" {}

relying_party "app" {
  realm               = realm.corp
  client_type         = "confidental"
  client_secret       = env("GRAFANA_SECRET")
  grant_types         = ["client_credential", "implicit", "client_credentials", "client_credentials"]
  pkce                = "requried"
  access_token_format = "JWT"
}
