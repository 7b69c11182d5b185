realm "corp" {}

# mfa starts with the user every caller established.
journey "mfa" {
  realm = realm.corp
  start = node.ask
  node "otp_or_push" "ask" {
    outcomes = { code = node.verify, push = failure, not_enrolled = failure }
  }
  node "otp_verify" "verify" {
    outcomes = { success = success, failure = failure, not_enrolled = failure }
  }
}

journey "login" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.mfa }
  node "inner_journey" "mfa" {
    journey  = journey.mfa
    outcomes = { success = success, failure = failure }
  }
}

# This caller enters mfa before anyone is known: now mfa cannot count on a user.
journey "kiosk" {
  realm = realm.corp
  start = node.mfa
  node "inner_journey" "mfa" {
    journey  = journey.mfa
    outcomes = { success = node.check, failure = failure }
  }
  node "password_check" "check" {
    outcomes = { success = success, failure = failure, locked = failure }
  }
}
