# Every kind of second factor the scenario runner simulates: SMS codes,
# recovery codes, HOTP, enrolment of an OTP token (QR code) and of a push
# device. The golden report is factors.txt.golden.
realm "corp" {
  enrollment_mode = "single_device"
  sms_gateway     = sms_gateway.texts
  push_providers  = [push_provider.poll]
}

sms_gateway "log" "texts" {}

push_provider "poll" "poll" {}

journey "sms" {
  realm = realm.corp
  start = node.login

  node "credentials" "login" {
    next = node.check
  }
  node "password_check" "check" {
    outcomes = { success = node.send, failure = failure, locked = failure }
  }
  node "sms_otp_sender" "send" {
    outcomes = { sent = node.verify, no_phone = node.recovery, failure = failure }
  }
  node "sms_otp_verify" "verify" {
    outcomes = { success = success, failure = failure, expired = node.send, resend = node.send }
  }
  node "recovery_code_collector" "recovery" {
    outcomes = { true = success, false = failure }
  }
}

journey "hotp" {
  realm = realm.corp
  start = node.login

  node "credentials" "login" {
    next = node.check
  }
  node "password_check" "check" {
    outcomes = { success = node.verify, failure = failure, locked = failure }
  }
  node "otp_verify" "verify" {
    outcomes = { success = success, failure = failure, not_enrolled = node.enrol }
  }
  node "otp_registration" "enrol" {
    outcomes = { success = success, failure = failure }
  }
}

journey "device" {
  realm = realm.corp
  start = node.login

  node "credentials" "login" {
    next = node.check
  }
  node "password_check" "check" {
    outcomes = { success = node.register, failure = failure, locked = failure }
  }
  node "push_registration" "register" {
    outcomes = { success = success, failure = failure, timeout = failure }
  }
}
