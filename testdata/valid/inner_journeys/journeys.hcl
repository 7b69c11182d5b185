realm "corp" {}

# Entered only by inner_journey nodes, each after the user is known, so
# the MFA journey may ask for a code without a credentials node of its own.
journey "mfa" {
  realm = realm.corp
  start = node.ask
  node "otp_or_push" "ask" {
    outcomes = { code = node.verify, push = node.ask, not_enrolled = failure }
  }
  node "otp_verify" "verify" {
    outcomes = { success = success, failure = node.retry, not_enrolled = failure }
  }
  node "retry_limit" "retry" {
    limit    = 3
    outcomes = { retry = node.ask, reject = failure }
  }
}

journey "login" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = node.mfa, failure = failure, locked = failure }
  }
  node "inner_journey" "mfa" {
    journey  = journey.mfa
    outcomes = { success = success, failure = failure }
  }
}

# The user established inside an inner journey holds after its success.
journey "identify" {
  realm = realm.corp
  start = node.ask
  node "username" "ask" { next = success }
}

journey "passwordless" {
  realm = realm.corp
  start = node.who
  node "inner_journey" "who" {
    journey  = journey.identify
    outcomes = { success = node.mfa, failure = failure }
  }
  node "inner_journey" "mfa" {
    journey  = journey.mfa
    outcomes = { success = success, failure = failure }
  }
}
