realm "corp" {}

journey "login" {
  realm = realm.corp
  start = node.pick
  node "choice" "pick" {
    options  = ["password", "code"]
    outcomes = { password = node.login, code = node.mfa }
  }
  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = node.mfa, failure = failure, locked = failure }
  }
  node "otp_or_push" "mfa" {
    outcomes = { code = node.verify, push = failure, not_enrolled = failure }
  }
  node "otp_verify" "verify" {
    outcomes = { success = success, failure = failure, not_enrolled = failure }
  }
}
