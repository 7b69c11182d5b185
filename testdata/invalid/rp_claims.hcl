realm "corp" {}

journey "web" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = success, failure = failure, locked = failure }
  }
}

relying_party "noopenid" {
  realm         = realm.corp
  journey       = journey.web
  client_secret = env("GRAFANA_SECRET")
  redirect_uris = ["https://app.example.com/cb"]
  scopes        = ["profile", "groups"]
  claim "groups" {
    scope = "groups"
    value = user.groups
  }
}

relying_party "badclaims" {
  realm         = realm.corp
  journey       = journey.web
  client_secret = env("GRAFANA_SECRET")
  redirect_uris = ["https://app.example.com/cb"]
  scopes        = ["openid", "profile"]
  claim "groups" {
    scope = "groups"
    value = user.group
  }
  claim "mfa" {
    value = state.mfa_method
  }
}
