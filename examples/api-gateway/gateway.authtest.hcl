# Scenarios for the api-gateway example: `authd test examples/api-gateway`.
# The sign-in that issues the tokens the gateway checks; the gateway itself
# (nginx auth_request against /api/v1/authz/) is tested by
# cmd/authd/forwardauth_test.go with a real nginx.

clock = "2026-01-01T09:00:00Z"

user "alice" {
  password = "alice-correct-horse"
  email    = "alice@example.com"
}

user "mallory" {
  password = "whatever it was"
  locked   = true
}

scenario "web: alice signs in and gets the API scopes" {
  frontend = "oauth"
  client   = "web"
  scopes   = ["openid", "orders:read", "billing:read"]

  step {
    expect_node = "login"
    answer      = { username = "alice", password = "alice-correct-horse" }
  }

  expect {
    outcome = "success"
    path    = ["login", "check"]
  }
}

scenario "web: a wrong password gets no token" {
  frontend = "oauth"
  client   = "web"

  step {
    answer = { username = "alice", password = "wrong" }
  }

  expect {
    outcome = "failure"
  }
}

scenario "web: a locked account gets no token, even with the right password" {
  frontend = "oauth"
  client   = "web"

  step {
    answer = { username = "mallory", password = "whatever it was" }
  }

  expect {
    outcome = "failure"
    reason  = "locked"
  }
}
