# The browser login of the relying party grafana (journey web, and the code
# journey it enters), through the OAuth provider: the authorization code
# flow with PKCE, one login page per step, then the token's claims.

clock = "2026-01-01T09:00:00Z"

scenario "grafana: number matching approved, claims for the groups scope" {
  frontend = "oauth"
  client   = "grafana"
  device   = "approve"

  step {
    expect_node = "login"
    answer      = { username = "alice", password = "alice-correct-horse" }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "push", "wait", "verify_push"]
    claims = {
      preferred_username = "alice"
      email              = "alice@example.com"
      groups             = ["vpn-users", "staff"]
    }
  }
}

scenario "grafana: the wrong number is picked on the phone" {
  frontend = "oauth"
  client   = "grafana"
  device   = "pick 7"

  step {
    answer = { username = "alice", password = "alice-correct-horse" }
  }

  expect {
    outcome = "failure"
    path    = ["login", "check", "push", "wait", "verify_push"]
  }
}

scenario "grafana: without the groups scope there is no groups claim" {
  frontend = "oauth"
  client   = "grafana"
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

scenario "grafana: no phone, so a code through the code journey" {
  frontend = "oauth"
  client   = "grafana"

  step {
    answer = { username = "bob", password = "bob-battery-staple" }
  }
  step {
    expect_node   = "code.ask"
    expect_prompt = "token code"
    answer        = { code = otp("bob") }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "push", "mfa", "code.ask", "code.verify"]
    claims  = { groups = ["vpn-users"] }
  }
}

scenario "web: leaving the push wait falls back to a code" {
  journey = "web"

  step {
    answer = { username = "alice", password = "alice-correct-horse" }
  }
  step {
    expect_node      = "wait"
    expect_prompt    = "on your phone"
    expect_callbacks = ["wait", "text"]
    answer           = { wait = "exit" }
  }
  step {
    expect_node = "code.ask"
    answer      = { code = "push" }
  }
  step {
    expect_node   = "code.ask_again"
    expect_prompt = "Push is not offered here"
  }
  step {
    answer = { code = otp("alice") }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "push", "wait", "mfa", "code.ask", "code.ask_again", "code.ask", "code.verify"]
  }
}

scenario "web: no factor at all" {
  journey = "web"

  step {
    answer = { username = "carol", password = "carol-has-no-phone" }
  }

  expect {
    outcome = "failure"
    path    = ["login", "check", "push", "mfa", "code.ask"]
  }
}
