realm "corp" {}

journey "login" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.count }
  node "set_state" "count" {
    values = { tries = 1 }
    next   = node.check
  }
  node "condition" "check" {
    when     = state.tries > 3
    outcomes = { true = success, false = node.count }
  }
  node "condition" "spin" {
    when     = true
    outcomes = { true = node.spin, false = failure }
  }
}
