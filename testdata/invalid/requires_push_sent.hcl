realm "corp" {
  push_providers = [push_provider.poll]
}

push_provider "poll" "poll" {}

journey "login" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = node.wait, failure = failure, locked = failure }
  }
  node "push_sender" "push" {
    remove_skip = true
    outcomes    = { sent = node.wait, not_registered = failure }
  }
  node "push_wait" "wait" {
    outcomes = { done = node.verify, exit = failure }
  }
  node "push_result_verifier" "verify" {
    outcomes = { success = success, failure = failure, expired = node.push, waiting = node.wait }
  }
}
