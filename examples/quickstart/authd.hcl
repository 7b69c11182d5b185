# The quick start: what `authd run` serves when no configuration is given.
# One realm and two journeys: "login", a user name and password checked
# against the realm's user store, with lockout after repeated failures; and
# "push", the same password, then a push to the user's phone with number
# matching. The phone can be `authd authenticator` on this machine (the
# "poll" provider needs no outside service); a user without one enrols it
# in the journey.

server {
  http {
    listen = "127.0.0.1:9000"
  }
  store {
    path = "authd.db"
  }
}

realm "demo" {
  display_name    = "authd demo"
  enrollment_mode = "override_allowed" # enrolling again replaces the phone
  push_providers  = [push_provider.poll]

  lockout {
    max_failures = 5
    window       = "15m"
    duration     = "15m"
  }
}

journey "login" {
  realm       = realm.demo
  description = "User name and password"
  start       = node.login

  node "credentials" "login" {
    next = node.check
  }

  node "password_check" "check" {
    outcomes = {
      success = success
      failure = failure
      locked  = failure
    }
  }
}

# Pending pushes wait in the store; the phone fetches them with a signed
# request. Devices reach authd at its listening address, or at
# server.http.public_url when one is set.
push_provider "poll" "poll" {}

journey "push" {
  realm       = realm.demo
  description = "Password, then an approved push with number matching"
  start       = node.login

  node "credentials" "login" {
    next = node.check
  }

  node "password_check" "check" {
    outcomes = {
      success = node.push
      failure = failure
      locked  = failure
    }
  }

  node "push_sender" "push" {
    push_type       = "challenge"
    message_timeout = "120s"
    user_message    = { en = "Sign-in to {{issuer}} as {{user}}" }
    remove_skip     = true # no opting out of MFA here
    capture_failure = true # push_failure_reason says why a send failed
    outcomes = {
      sent           = node.wait
      not_registered = node.register
      failure        = failure
    }
  }

  # No phone yet: the journey shows an enrolment URI (and its QR code).
  node "push_registration" "register" {
    timeout = "5m"
    outcomes = {
      success = node.push
      failure = failure
      timeout = failure
    }
  }

  node "push_wait" "wait" {
    seconds = 30
    message = { en = "Choose {{number}} on your phone to sign in." }
    outcomes = {
      done = node.verify
      exit = failure
    }
  }

  node "push_result_verifier" "verify" {
    outcomes = {
      success = success
      failure = failure
      expired = node.resend
      waiting = node.wait
    }
  }

  # An unanswered push is sent again, once.
  node "retry_limit" "resend" {
    limit = 1
    outcomes = {
      retry  = node.push
      reject = failure
    }
  }
}
