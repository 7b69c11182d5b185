realm "corp" {
  push_providers = [push_provider.poll]
}

push_provider "poll" "poll" {}

journey "login" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.push }
  node "push_sender" "push" {
    remove_skip = true
    outcomes = {
      sent           = node.wait
      not_registered = failure
      skipped        = success
      failure        = failure
    }
  }
  node "push_wait" "wait" {
    exit     = false
    outcomes = { done = node.verify, exit = failure }
  }
  node "push_result_verifier" "verify" {
    outcomes = { success = success, failure = failure, expired = failure, waiting = node.wait }
  }
}
