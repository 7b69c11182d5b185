# See old/config.hcl.
realm "corp" {}

journey "web" {
  realm = realm.corp
  start = node.login

  node "credentials" "login" {
    next = node.check
  }
  node "password_check" "check" {
    outcomes = { success = node.mfa, failure = failure, locked = failure }
  }
  node "inner_journey" "mfa" {
    journey  = journey.code
    outcomes = { success = success, failure = failure }
  }
}

journey "code" {
  realm = realm.corp
  start = node.verify

  node "otp_verify" "verify" {
    outcomes = { success = success, failure = failure, not_enrolled = success }
  }
}

journey "plain" {
  realm = realm.corp
  start = node.login

  node "credentials" "login" {
    next = node.check
  }
  node "password_check" "check" {
    outcomes = { success = success, failure = failure, locked = failure }
  }
}

relying_party "portal" {
  realm         = realm.corp
  journey       = journey.plain
  client_type   = "public"
  redirect_uris = ["https://portal.example.com/cb"]
}
