# Password, then a code or a push to the enrolled phone: what FortiClient
# users see over RADIUS.
journey "vpn" {
  realm       = realm.corp
  description = "Password, then a code or a push to the enrolled phone"
  start       = node.login

  node "credentials" "login" {
    next = node.check
  }
  node "password_check" "check" {
    outcomes = { success = node.mfa, failure = failure, locked = failure }
  }
  node "otp_or_push" "mfa" {
    prompt   = "+Please enter the token code. You can also submit a blank response to initiate a push notification to your mobile app."
    outcomes = { code = node.verify_code, push = node.push, not_enrolled = failure }
  }
  node "otp_verify" "verify_code" {
    outcomes = { success = success, failure = node.retry, not_enrolled = failure }
  }
  node "retry_limit" "retry" {
    limit    = 3
    outcomes = { retry = node.mfa, reject = failure }
  }
  node "push_sender" "push" {
    message_timeout = "120s"
    push_type       = "tap"
    user_message    = { en = "Login attempt from {{user}} at {{issuer}}" }
    share_context   = true
    remove_skip     = true
    capture_failure = true
    outcomes        = { sent = node.wait, not_registered = failure, failure = failure }
  }
  node "push_wait" "wait" {
    seconds  = 5
    outcomes = { done = node.verify_push, exit = failure }
  }
  node "push_result_verifier" "verify_push" {
    outcomes = { success = success, failure = failure, expired = node.push, waiting = node.wait }
  }
}

# The browser login of the relying parties: password, then a push with
# number matching; users without a device use a code.
journey "web" {
  realm           = realm.corp
  description     = "Password, then a push with number matching, or a code"
  start           = node.login
  session_timeout = "10m"

  node "credentials" "login" {
    next = node.check
  }
  node "password_check" "check" {
    outcomes = { success = node.push, failure = failure, locked = failure }
  }
  node "push_sender" "push" {
    push_type   = "challenge"
    remove_skip = true
    outcomes    = { sent = node.wait, not_registered = node.mfa }
  }
  node "push_wait" "wait" {
    outcomes = { done = node.verify_push, exit = node.mfa }
  }
  node "push_result_verifier" "verify_push" {
    outcomes = { success = success, failure = failure, expired = node.mfa, waiting = node.wait }
  }
  node "inner_journey" "mfa" {
    journey  = journey.code
    outcomes = { success = success, failure = failure }
  }
}
# A code by authenticator app, as a journey of its own that web (and any
# other journey of the realm) enters with inner_journey. It starts with the
# user its callers established.
journey "code" {
  realm       = realm.corp
  description = "A one-time code from the authenticator app, three tries"
  start       = node.ask

  node "otp_or_push" "ask" {
    outcomes = { code = node.verify, push = node.ask_again, not_enrolled = failure }
  }
  node "message" "ask_again" {
    text = { en = "Push is not offered here: please enter a code." }
    next = node.ask
  }
  node "otp_verify" "verify" {
    outcomes = { success = success, failure = node.retry, not_enrolled = failure }
  }
  node "retry_limit" "retry" {
    limit    = 3
    outcomes = { retry = node.ask, reject = failure }
  }
}
