# Valid, but the store then grows without bound: a warning.
server {
  store {
    audit_retention = "0"
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
