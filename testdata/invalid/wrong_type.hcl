realm "corp" {
  lockout {
    max_failures = "five"
    window       = true
  }
}

radius_client "nas" {
  address                       = ["127.0.0.1"]
  secret                        = env("FORTIGATE_SECRET")
  require_message_authenticator = "yes please"
}

journey "login" {
  realm = realm.corp
  start = node.login

  node "credentials" "login" { next = node.retry }
  node "retry_limit" "retry" {
    limit    = "three"
    outcomes = { retry = node.login, reject = failure }
  }
}
