# Scenarios for the portal example: `authd test examples/portal`.
# They drive the journeys the way the portal's start does (the user name
# first, then the phone); docs/testing.md describes the language, and
# README.md the start call and the callback.

user "alice" {
  password    = "alice-portal-password"
  push_device = true
}

user "dan" {
  password = "dan-has-no-phone"
}

scenario "the portal's push, approved on the phone" {
  journey = "portal_push"
  device  = "approve"

  step {
    answer = { username = "alice" }
  }

  expect {
    outcome = "success"
    path    = ["user", "push", "wait", "verify"]
    pushes  = 1
  }
}

scenario "the push denied on the phone" {
  journey = "portal_push"
  device  = "deny"

  step {
    answer = { username = "alice" }
  }

  expect {
    outcome = "failure"
    path    = ["user", "push", "wait", "verify"]
  }
}

scenario "the push never answered" {
  journey = "portal_push"

  step {
    answer = { username = "alice" }
  }
  step {
    expect_node = "wait"
    advance     = "121s"
  }

  expect {
    outcome = "failure"
    path    = ["user", "push", "wait", "verify"]
  }
}

scenario "a user without a phone: the callback says failure" {
  journey = "portal_push"

  step {
    answer = { username = "dan" }
  }

  expect {
    outcome = "failure"
    path    = ["user", "push"]
  }
}

scenario "the user leaves the wait" {
  journey = "portal_push"

  step {
    answer = { username = "alice" }
  }
  step {
    expect_node = "wait"
    answer      = { wait = "exit" }
  }

  expect {
    outcome = "failure"
    path    = ["user", "push", "wait"]
  }
}

scenario "registering a phone" {
  journey = "enroll"

  step {
    answer = { username = "dan", password = "dan-has-no-phone" }
  }
  step {
    expect_node = "register"
    device      = "approve"
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "register"]
  }
}

scenario "registering with a wrong password" {
  journey = "enroll"

  step {
    answer = { username = "dan", password = "wrong" }
  }

  expect {
    outcome = "failure"
    path    = ["login", "check"]
  }
}
