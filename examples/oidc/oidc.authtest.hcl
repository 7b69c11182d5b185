# Scenarios for the oidc example: `authd test examples/oidc`.
# Browser logins through the OAuth provider (the code flow with PKCE, one
# login page per step, then the tokens' claims); see docs/testing.md.

clock = "2026-01-01T09:00:00Z"

user "alice" {
  password    = "alice-correct-horse"
  email       = "alice@example.com"
  groups      = ["staff"]
  push_device = true
}

user "dan" {
  password = "dan-has-no-phone-yet"
  email    = "dan@example.com"
}

scenario "webapp: password, then the push approved with the right number" {
  frontend   = "oauth"
  client     = "webapp"
  device     = "approve"
  client_ip  = "198.51.100.7"
  user_agent = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"

  step {
    expect_node = "login"
    answer      = { username = "alice", password = "alice-correct-horse" }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "profile", "push", "wait", "verify"]
    claims = {
      preferred_username = "alice"
      email              = "alice@example.com"
      groups             = ["staff"]
    }
  }
}

scenario "webapp: the wrong number picked on the phone" {
  frontend = "oauth"
  client   = "webapp"
  device   = "pick 5"

  step {
    answer = { username = "alice", password = "alice-correct-horse" }
  }

  expect {
    outcome = "failure"
    path    = ["login", "check", "profile", "push", "wait", "verify"]
  }
}

scenario "webapp: the push denied on the phone" {
  frontend = "oauth"
  client   = "webapp"
  device   = "deny"

  step {
    answer = { username = "alice", password = "alice-correct-horse" }
  }

  expect {
    outcome = "failure"
  }
}

scenario "webapp: an unanswered push is sent again, then approved" {
  frontend = "oauth"
  client   = "webapp"

  step {
    answer = { username = "alice", password = "alice-correct-horse" }
  }
  step {
    expect_node   = "wait"
    expect_prompt = "on your phone to sign in"
    advance       = "121s"
  }
  step {
    expect_node = "wait"
    device      = "approve"
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "profile", "push", "wait", "verify", "resend", "push", "wait", "verify"]
    pushes  = 2
  }
}

scenario "webapp: no phone yet, so the enrolment QR code first" {
  frontend = "oauth"
  client   = "webapp"
  device   = "approve"

  step {
    answer = { username = "dan", password = "dan-has-no-phone-yet" }
  }
  step {
    expect_node = "register"
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "profile", "push", "register", "push", "wait", "verify"]
  }
}

scenario "webapp: without the groups scope there is no groups claim" {
  frontend = "oauth"
  client   = "webapp"
  scopes   = ["openid", "email"]
  device   = "approve"

  step {
    answer = { username = "alice", password = "alice-correct-horse" }
  }

  expect {
    outcome = "success"
    claims  = { email = "alice@example.com", groups = null }
  }
}

scenario "spa: name and password only" {
  frontend = "oauth"
  client   = "spa"

  step {
    answer = { username = "dan", password = "dan-has-no-phone-yet" }
  }

  expect {
    outcome = "success"
    path    = ["login", "check"]
    claims  = { preferred_username = "dan", email = "dan@example.com" }
  }
}

scenario "spa: a wrong password" {
  frontend = "oauth"
  client   = "spa"

  step {
    answer = { username = "dan", password = "not-dans-password" }
  }

  expect {
    outcome = "failure"
    path    = ["login", "check"]
  }
}
