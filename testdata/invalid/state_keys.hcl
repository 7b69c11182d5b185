realm "corp" {
  push_providers = [push_provider.poll]
}

push_provider "poll" "poll" {}

journey "login" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.mark }
  node "set_state" "mark" {
    values = { first_factor = "password" }
    next   = node.push
  }
  node "push_sender" "push" {
    remove_skip = true
    outcomes    = { sent = node.check, not_registered = failure }
  }
  node "condition" "check" {
    when     = state.push_mesage_id != null && state.first_factr == "password" && state["mfa_method"] == "push"
    outcomes = { true = success, false = failure }
  }
}

journey "other" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.check }
  node "condition" "check" {
    when     = state.first_factor == "password"
    outcomes = { true = success, false = failure }
  }
}
