# Password, then a push to the phone app. The fallback is an edge, not a
# setting: a user without the app (push_sender's not_registered), or whose
# push went unanswered, gets a 6-digit code by SMS; a user without a phone
# number uses one of their recovery codes.
journey "login" {
  realm       = realm.corp
  description = "Password, then a push; without the app, an SMS code; without a phone, a recovery code"
  start       = node.login

  node "credentials" "login" {
    next = node.check
  }
  node "password_check" "check" {
    outcomes = { success = node.push, failure = failure, locked = failure }
  }
  node "push_sender" "push" {
    push_type       = "challenge"
    user_message    = { en = "Login to {{issuer}} as {{user}}?" }
    remove_skip     = true
    capture_failure = true
    outcomes        = { sent = node.wait, not_registered = node.sms, failure = node.sms }
  }
  node "push_wait" "wait" {
    seconds  = 5
    outcomes = { done = node.verify_push, exit = node.sms }
  }
  node "push_result_verifier" "verify_push" {
    outcomes = { success = success, failure = failure, expired = node.sms, waiting = node.wait }
  }
  node "sms_otp_sender" "sms" {
    message     = { en = "{code} is your {{issuer}} login code", de = "{code} ist Ihr {{issuer}}-Anmeldecode" }
    max_resends = 2
    code_ttl    = "5m"
    outcomes    = { sent = node.sms_code, no_phone = node.recovery, failure = node.recovery }
  }
  node "sms_otp_verify" "sms_code" {
    max_attempts = 3
    outcomes     = { success = success, failure = failure, expired = node.sms, resend = node.sms }
  }
  node "recovery_code_collector" "recovery" {
    prompt   = "Recovery code"
    outcomes = { true = success, false = failure }
  }
}

# Setting up a second factor, for the self-service page: the app (push),
# an authenticator app code (TOTP), or neither, and fresh recovery codes
# at the end. Users who opted out are not asked again.
journey "setup" {
  realm       = realm.corp
  description = "Register the push app or a TOTP app, then print recovery codes"
  start       = node.login

  node "credentials" "login" {
    next = node.check
  }
  node "password_check" "check" {
    outcomes = { success = node.opted_out, failure = failure, locked = failure }
  }
  node "condition" "opted_out" {
    when     = lookup(user.attributes, "mfa_opt_out", "") == "true"
    outcomes = { true = success, false = node.options }
  }
  node "mfa_registration_options" "options" {
    message  = { en = "Protect your {{issuer}} account with your phone." }
    outcomes = { register = node.kind, get_app = node.get_app, skip = success, opt_out = node.opt_out }
  }
  node "get_authenticator_app" "get_app" {
    apple_url  = "https://apps.apple.com/app/id0000000000"
    google_url = "https://play.google.com/store/apps/details?id=com.example.authenticator"
    next       = node.options
  }
  node "opt_out_mfa" "opt_out" {
    next = success
  }
  node "choice" "kind" {
    prompt   = "Which app will you use?"
    options  = ["push", "code"]
    outcomes = { push = node.push_app, code = node.totp }
  }
  node "push_registration" "push_app" {
    outcomes = { success = node.codes, failure = failure, timeout = node.options }
  }
  node "otp_registration" "totp" {
    outcomes = { success = node.codes, failure = node.options }
  }
  node "recovery_code_display" "codes" {
    count = 10
    next  = success
  }
}
