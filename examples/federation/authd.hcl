# authd federating to an upstream OpenID Connect provider, then asking for
# an authd push: the web app's users sign in at the company's identity
# provider (here a second authd, see upstream/) and approve a push on
# their phone. See README.md.

server {
  http {
    listen = "127.0.0.1:9000"
    # The issuer, and the base of the redirect URI registered at the
    # upstream provider: http://127.0.0.1:9000/oauth2/federation/callback.
    public_url = "http://127.0.0.1:9000"
  }
  store {
    path = "authd.db"
  }
}

realm "corp" {
  display_name    = "Example Corp"
  enrollment_mode = "single_device"
  # poll needs no outside service: `authd authenticator` stands in for the
  # phone.
  push_providers = [push_provider.poll]
}

push_provider "poll" "poll" {}

# The upstream provider. Discovery runs at the first login, so authd starts
# while it is down; its ID tokens are checked against its JWKS.
identity_provider "oidc" "upstream" {
  issuer        = "http://localhost:9100"
  client_id     = "authd-federation"
  client_secret = env("UPSTREAM_SECRET")
  scopes        = ["openid", "email", "profile"]
  pkce          = true
}

# The upstream login, then a push with number matching to the user's
# enrolled phone; a user without a phone registers one first.
journey "federated_push" {
  realm       = realm.corp
  description = "Sign-in at the upstream provider, then an approved push"
  start       = node.upstream

  # The local user is the one whose email the provider vouches for
  # (email_verified = true; a provider that does not say is not trusted,
  # see assume_email_verified in README.md). No match: no account, no login.
  node "federated_login" "upstream" {
    provider    = identity_provider.upstream
    match_on    = "email"
    create_user = false
    outcomes = {
      success    = node.push
      failure    = failure
      no_account = failure
    }
  }

  node "push_sender" "push" {
    push_type       = "challenge"
    message_timeout = "120s"
    user_message = {
      en = "Sign-in to {{issuer}} as {{user}}"
    }
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

  node "retry_limit" "resend" {
    limit = 2
    outcomes = {
      retry  = node.push
      reject = failure
    }
  }

  node "push_registration" "register" {
    timeout = "3m"
    outcomes = {
      success = node.push
      failure = failure
      timeout = failure
    }
  }
}

# Break-glass: a local password and the same push, for administrators
# while the upstream provider is down. `authd test` runs this one (it
# cannot play an upstream provider, see README.md).
journey "break_glass" {
  realm       = realm.corp
  description = "Local password, then an approved push (upstream down)"
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
    push_type       = "tap"
    message_timeout = "120s"
    remove_skip     = true
    outcomes = {
      sent           = node.wait
      not_registered = failure
    }
  }

  node "push_wait" "wait" {
    seconds = 5
    outcomes = {
      done = node.verify
      exit = failure
    }
  }

  node "push_result_verifier" "verify" {
    outcomes = {
      success = success
      failure = failure
      expired = failure
      waiting = node.wait
    }
  }
}

relying_party "webapp" {
  realm         = realm.corp
  journey       = journey.federated_push
  client_type   = "confidential"
  client_id     = "webapp"
  client_secret = env("WEBAPP_SECRET")
  grant_types   = ["authorization_code", "refresh_token"]
  redirect_uris = ["http://127.0.0.1:8080/callback"]
  scopes        = ["openid", "profile", "email"]
}
