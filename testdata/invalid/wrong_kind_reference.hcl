realm "corp" {
  sms_gateway = push_provider.poll
}

push_provider "poll" "poll" {}

journey "login" {
  realm = journey.login
  start = realm.corp
  node "credentials" "login" { next = journey.login }
}

relying_party "app" {
  realm         = relm.corp
  journey       = "login"
  client_secret = env("GRAFANA_SECRET")
  redirect_uris = ["https://app.example.com/cb"]
}
