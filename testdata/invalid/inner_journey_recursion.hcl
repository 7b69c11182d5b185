realm "corp" {}

journey "a" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.enter }
  node "inner_journey" "enter" {
    journey  = journey.b
    outcomes = { success = success, failure = failure }
  }
}

journey "b" {
  realm = realm.corp
  start = node.enter
  node "inner_journey" "enter" {
    journey  = journey.a
    outcomes = { success = success, failure = failure }
  }
}

journey "self" {
  realm = realm.corp
  start = node.again
  node "inner_journey" "again" {
    journey  = journey.self
    outcomes = { success = success, failure = failure }
  }
}

journey "typo" {
  realm = realm.corp
  start = node.enter
  node "inner_journey" "enter" {
    journey  = journey.slef
    outcomes = { success = success, failure = failure }
  }
}
