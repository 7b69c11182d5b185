# Not a duration.
server {
  store {
    audit_retention = "ninety days"
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
