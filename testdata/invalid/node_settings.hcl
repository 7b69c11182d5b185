realm "corp" {
  push_providers = [push_provider.poll]
}

push_provider "poll" "poll" {}

journey "login" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" {
    username_promt = "Login"
    next           = node.retry
  }
  node "retry_limit" "retry" {
    limit    = 0
    outcomes = { retry = node.push, reject = failure }
  }
  node "push_sender" "push" {
    message_timeout = "0"
    push_type       = "tapp"
    remove_skip     = true
    outcomes        = { sent = node.wait, not_registered = failure }
  }
  node "push_wait" "wait" {
    seconds  = 600
    outcomes = { done = node.verify, exit = node.login }
  }
  node "push_result_verifier" "verify" {
    outcomes = { success = success, failure = failure, expired = failure, waiting = node.wait }
  }
  node "condition" "fixed" {
    when     = user.name
    outcomes = { true = success, false = failure }
  }
}
