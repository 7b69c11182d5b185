# Too short: the log is swept hourly; at least 1h, or "0" to keep entries forever.
server {
  store {
    audit_retention = "30m"
  }
}

realm "demo" {}

journey "login" {
  realm = realm.demo
  start = node.login

  node "credentials" "login" {
    next = node.check
  }
  node "password_check" "check" {
    outcomes = { success = success, failure = failure, locked = failure }
  }
}
