# The journeys the relying parties run (clients.hcl says which).

# Password, then a push with number matching; a user without a device
# registers one first. The web app's journey.
journey "push" {
  realm       = realm.corp
  description = "Password, then an approved push with number matching"
  start       = node.login

  node "credentials" "login" {
    next = node.check
  }

  node "password_check" "check" {
    outcomes = {
      success = node.profile
      failure = failure
      locked  = failure
    }
  }

  # The address and browser of the login, which the push shows the user.
  node "device_profile" "profile" {
    next = node.push
  }

  node "push_sender" "push" {
    push_type       = "challenge"
    message_timeout = "120s"
    user_message = {
      en = "Sign-in to {{issuer}} as {{user}}"
    }
    share_context   = true
    remove_skip     = true
    capture_failure = true
    outcomes = {
      sent           = node.wait
      not_registered = node.register
      failure        = failure
    }
  }

  node "push_wait" "wait" {
    seconds = 5
    message = {
      en = "Choose {{number}} on your phone to sign in."
    }
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

  # An unanswered push is sent again, twice at most.
  node "retry_limit" "resend" {
    limit = 2
    outcomes = {
      retry  = node.push
      reject = failure
    }
  }

  # No device yet: the login page shows the enrolment QR code.
  node "push_registration" "register" {
    timeout = "3m"
    outcomes = {
      success = node.push
      failure = failure
      timeout = failure
    }
  }
}

# Name and password only. The single-page app's journey.
journey "password" {
  realm       = realm.corp
  description = "Name and password"
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
