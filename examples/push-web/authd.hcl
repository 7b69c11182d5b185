# Push MFA the PingAM way, served to the web (the journey API and the OAuth
# login pages): password, then a push to the enrolled phone with number
# matching; users without a device are offered registration, and a lost
# phone is covered by recovery codes. See README.md for a full login on one
# machine with `authd authenticator`.

server {
  http {
    listen = "127.0.0.1:9000"
    # The address phones reach: it goes into enrolment QR codes and pushes.
    # Behind NAT or a proxy, set the outside address here.
    public_url = "http://127.0.0.1:9000"
  }
  store {
    path = "authd.db"
  }
}

realm "corp" {
  display_name    = "Example Corp"
  enrollment_mode = "single_device" # single_device | override_allowed | multiple_devices
  default_locale  = "en"
  # poll needs no outside service (authd authenticator, or any app that
  # fetches its pushes); add push_provider.ios / push_provider.android
  # below for phones.
  push_providers = [push_provider.poll]

  lockout {
    max_failures = 5
    window       = "15m"
    duration     = "15m"
  }
}

push_provider "poll" "poll" {}

# For real phones (uncomment, and list them in the realm's push_providers):
#
# push_provider "apns" "ios" {
#   team_id     = "ABCDE12345"
#   key_id      = "XYZ987ABCD"
#   key_file    = "secrets/AuthKey.p8"
#   bundle_id   = "com.example.authenticator"
#   environment = "production"
# }
# push_provider "fcm" "android" {
#   credentials_file = "secrets/firebase.json"
# }

journey "push" {
  realm       = realm.corp
  description = "Password, then an approved push (PingAM's push authentication journey)"
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

  # Records the client's address and browser, which the push shows.
  node "device_profile" "profile" {
    next = node.push
  }

  node "push_sender" "push" {
    push_type       = "challenge"
    message_timeout = "120s"
    user_message = {
      en = "Sign-in to {{issuer}} as {{user}}"
      fr = "Connexion à {{issuer}} en tant que {{user}}"
      de = "Anmeldung bei {{issuer}} als {{user}}"
    }
    share_context   = true
    capture_failure = true
    outcomes = {
      sent           = node.wait
      not_registered = node.options
      skipped        = success # the user opted out of MFA
      failure        = failure
    }
  }

  node "push_wait" "wait" {
    seconds = 5
    message = {
      en = "Choose {{number}} on your phone to sign in. Lost your phone? Leave this page to use a recovery code."
    }
    outcomes = {
      done = node.verify
      exit = node.recovery
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

  # The user left the wait: a recovery code instead of the phone.
  node "recovery_code_collector" "recovery" {
    outcomes = {
      true  = success
      false = node.recovery_retry
    }
  }

  node "retry_limit" "recovery_retry" {
    limit                  = 3
    increment_user_lockout = true
    outcomes = {
      retry  = node.recovery
      reject = failure
    }
  }

  # No device yet: register one, get the app, skip for now or opt out.
  node "mfa_registration_options" "options" {
    outcomes = {
      register = node.register
      get_app  = node.get_app
      skip     = success
      opt_out  = node.opt_out
    }
  }

  node "get_authenticator_app" "get_app" {
    apple_url  = "https://apps.apple.com/app/example-authenticator/id0000000000"
    google_url = "https://play.google.com/store/apps/details?id=com.example.authenticator"
    next       = node.options
  }

  node "push_registration" "register" {
    timeout = "3m"
    outcomes = {
      success = node.codes
      failure = failure
      timeout = node.options
    }
  }

  # Right after registration: recovery codes for the day the phone is lost.
  node "recovery_code_display" "codes" {
    next = node.push
  }

  node "opt_out_mfa" "opt_out" {
    next = success
  }
}
