# The FortiAuthenticator scenario: the FortiGate sends the password (PAP),
# authd answers with a challenge that takes a token code or a blank
# response (or the word "push") for a push, and holds the blank response's
# request until the phone answers.
journey "vpn" {
  realm       = realm.corp
  description = "Password, then a token code or a blank response for a push"
  start       = node.credentials
  # One login, challenge included; the push itself expires sooner.
  session_timeout = "5m"

  # Over RADIUS the name and password come from the Access-Request.
  node "credentials" "credentials" {
    next = node.password_check
  }

  node "password_check" "password_check" {
    outcomes = {
      success = node.otp_or_push
      failure = failure
      locked  = failure
    }
  }

  # The "+" is FortiAuthenticator's marker: FortiGate and FortiClient then
  # offer push next to the token field, and authd adds
  # Fortinet-FAC-Challenge-Code = "001" to the Access-Challenge.
  node "otp_or_push" "otp_or_push" {
    prompt = "+Please enter the token code. You can also submit a blank response to initiate a push notification to your mobile app."
    outcomes = {
      code         = node.otp_verify
      push         = node.push_sender
      not_enrolled = failure
    }
  }

  node "otp_verify" "otp_verify" {
    outcomes = {
      success      = success
      failure      = node.retry
      not_enrolled = failure
    }
  }

  # A mistyped code is asked again (a new challenge), three times at most.
  node "retry_limit" "retry" {
    limit    = 3
    outcomes = { retry = node.otp_or_push, reject = failure }
  }

  # The push must be answered well within the FortiGate's
  # remoteauthtimeout (60 s, see radius.hcl and README.md).
  node "push_sender" "push_sender" {
    push_type       = "tap" # "challenge" for number matching (README.md)
    message_timeout = "50s"
    user_message    = { en = "VPN login of {{user}} at {{issuer}}" }
    share_context   = true
    remove_skip     = true
    capture_failure = true
    outcomes = {
      sent           = node.push_wait
      not_registered = failure
      failure        = failure
    }
  }

  # Over RADIUS the request is held here, and answered as soon as the
  # phone answers (or the push expires).
  node "push_wait" "push_wait" {
    seconds  = 5
    outcomes = { done = node.push_result_verifier, exit = failure }
  }

  node "push_result_verifier" "push_result_verifier" {
    outcomes = {
      success = success
      failure = failure
      expired = failure
      waiting = node.push_wait
    }
  }
}

# Enrolment of the phone's authenticator app, on the journey API (a QR
# code cannot travel over RADIUS): the password, then an enrolment URI.
journey "enroll" {
  realm       = realm.corp
  description = "Password, then register the push authenticator app"
  start       = node.credentials

  node "credentials" "credentials" {
    next = node.password_check
  }

  node "password_check" "password_check" {
    outcomes = {
      success = node.register
      failure = failure
      locked  = failure
    }
  }

  node "push_registration" "register" {
    timeout = "3m"
    outcomes = {
      success = success
      failure = failure
      timeout = failure
    }
  }
}
