realm "corp" {}

journey "login" {
  realm = realm.corp
  start = node.login

  node "credentials" "login" { next = node.verify }
  node "otp_verfy" "verify" {
    outcomes = { success = success, failure = failure, not_enrolled = failure }
  }
  node "sms_magic" "other" { next = success }
}
