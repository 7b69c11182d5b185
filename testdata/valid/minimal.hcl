# The smallest useful configuration: no server block (defaults apply).
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
