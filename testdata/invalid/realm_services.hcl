realm "corp" {}

journey "sms" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.send }
  node "sms_otp_sender" "send" {
    outcomes = { sent = node.verify, no_phone = failure, failure = failure }
  }
  node "sms_otp_verify" "verify" {
    outcomes = { success = success, failure = failure, expired = failure, resend = node.send }
  }
}
