# Scenarios for the federation example: `authd test examples/federation`.
# The scenario runner cannot play an upstream OpenID Connect provider, so
# the federated journey is tested end to end in protocols/federation (a
# second authd as the upstream); these run the break-glass journey.

clock = "2026-01-01T09:00:00Z"

user "alice" {
  password    = "alice-break-glass-password"
  email       = "alice@example.com"
  push_device = true
}

user "dan" {
  password = "dan-has-no-phone"
  email    = "dan@example.com"
}

scenario "break-glass: password, then the push approved" {
  journey = "break_glass"
  device  = "approve"

  step {
    expect_node = "login"
    answer      = { username = "alice", password = "alice-break-glass-password" }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "push", "wait", "verify"]
  }
}

scenario "break-glass: the push denied" {
  journey = "break_glass"
  device  = "deny"

  step {
    answer = { username = "alice", password = "alice-break-glass-password" }
  }

  expect {
    outcome = "failure"
  }
}

scenario "break-glass: no phone, no login" {
  journey = "break_glass"

  step {
    answer = { username = "dan", password = "dan-has-no-phone" }
  }

  expect {
    outcome = "failure"
    path    = ["login", "check", "push"]
  }
}

scenario "break-glass: a wrong password" {
  journey = "break_glass"

  step {
    answer = { username = "alice", password = "not-the-password" }
  }

  expect {
    outcome = "failure"
    path    = ["login", "check"]
  }
}
