# Scenarios for the quick start: `authd test examples/quickstart`.
# The language is described in docs/testing.md.

user "demo" {
  password = "correct horse battery staple"
  email    = "demo@example.com"
}

user "locked_out" {
  password = "whatever it was"
  locked   = true
}

scenario "the right password logs in" {
  journey = "login"

  step {
    expect_node      = "login"
    expect_callbacks = ["name", "password"]
    answer           = { username = "demo", password = "correct horse battery staple" }
  }

  expect {
    outcome = "success"
    user    = "demo"
    path    = ["login", "check"]
  }
}

scenario "a wrong password fails" {
  journey = "login"

  step {
    answer = { username = "demo", password = "Tr0ub4dor&3" }
  }

  expect {
    outcome = "failure"
    path    = ["login", "check"]
  }
}

scenario "a locked account fails even with the right password" {
  journey = "login"

  step {
    answer = { username = "locked_out", password = "whatever it was" }
  }

  expect {
    outcome = "failure"
    reason  = "locked"
  }
}

scenario "the journey waits for credentials" {
  journey = "login"

  expect {
    outcome = "suspended"
    path    = ["login"]
  }
}
