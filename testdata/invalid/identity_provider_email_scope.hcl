# federated_login matches by email, but the provider is not asked for it.
realm "corp" {}

identity_provider "oidc" "google" {
  issuer        = "https://accounts.google.com"
  client_id     = "authd"
  client_secret = env("G_SECRET")
  scopes        = ["openid", "profile"]
}

journey "federated" {
  realm = realm.corp
  start = node.google

  node "federated_login" "google" {
    provider = identity_provider.google
    outcomes = { success = success, failure = failure, no_account = failure }
  }
}

journey "by_sub" {
  realm = realm.corp
  start = node.google

  node "federated_login" "google" {
    provider = identity_provider.google
    match_on = "sub"
    outcomes = { success = success, failure = failure, no_account = failure }
  }
}
