realm "corp" {}

journey "login" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = node.bye, failure = failure, locked = failure }
  }
  node "message" "bye" {
    text = "Logins are closed."
    next = failure
  }
}
