# Scenarios for the push-web example: `authd test examples/push-web`.
# See docs/testing.md for the language.

user "alice" {
  password       = "alice-web-password"
  push_device    = true
  recovery_codes = 3
}

user "dan" {
  password = "dan-has-no-app-yet"
}

user "omar" {
  password   = "omar-opted-out"
  attributes = { mfa_opt_out = "true" }
}

scenario "number matching, approved" {
  journey    = "push"
  device     = "approve"
  client_ip  = "198.51.100.7"
  user_agent = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"

  step {
    answer = { username = "alice", password = "alice-web-password" }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "profile", "push", "wait", "verify"]
    state   = { device_ip = "198.51.100.7", mfa_method = "push" }
  }
}

scenario "the number shown is not the one picked" {
  journey = "push"
  device  = "pick 5"

  step {
    answer = { username = "alice", password = "alice-web-password" }
  }

  expect {
    outcome = "failure"
    path    = ["login", "check", "profile", "push", "wait", "verify"]
  }
}

scenario "an expired push is sent again, then approved" {
  journey = "push"

  step {
    answer = { username = "alice", password = "alice-web-password" }
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

scenario "lost phone: a recovery code" {
  journey = "push"

  step {
    answer = { username = "alice", password = "alice-web-password" }
  }
  step {
    answer = { wait = "exit" }
  }
  step {
    expect_node = "recovery"
    answer      = { code = recovery_code("alice") }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "profile", "push", "wait", "recovery"]
  }
}

scenario "lost phone: wrong recovery codes run out" {
  journey = "push"

  step {
    answer = { username = "alice", password = "alice-web-password" }
  }
  step {
    answer = { wait = "exit" }
  }
  step {
    answer = { code = "aaaa-bbbb-cccc-dddd" }
  }
  step {
    answer = { code = "aaaa-bbbb-cccc-eeee" }
  }
  step {
    answer = { code = "aaaa-bbbb-cccc-ffff" }
  }

  expect {
    outcome = "failure"
    path = [
      "login", "check", "profile", "push", "wait",
      "recovery", "recovery_retry",
      "recovery", "recovery_retry",
      "recovery", "recovery_retry",
    ]
  }
}

scenario "no app yet: register it, then the first push" {
  journey = "push"
  device  = "approve"

  step {
    answer = { username = "dan", password = "dan-has-no-app-yet" }
  }
  step {
    expect_node = "options"
    answer      = { choice = "register" }
  }
  step {
    expect_node = "register"
  }
  step {
    expect_node = "codes"
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "profile", "push", "options", "register", "codes", "push", "wait", "verify"]
  }
}

scenario "no app yet: opt out of push" {
  journey = "push"

  step {
    answer = { username = "dan", password = "dan-has-no-app-yet" }
  }
  step {
    answer = { choice = "get_app" }
  }
  step {
    expect_node   = "get_app"
    expect_prompt = "App Store"
  }
  step {
    answer = { choice = "opt_out" }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "profile", "push", "options", "get_app", "options", "opt_out"]
  }
}

scenario "no app yet: skip for now" {
  journey = "push"

  step {
    answer = { username = "dan", password = "dan-has-no-app-yet" }
  }
  step {
    answer = { choice = "skip" }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "profile", "push", "options"]
  }
}

scenario "opted out of push: no second factor asked" {
  journey = "push"

  step {
    answer = { username = "omar", password = "omar-opted-out" }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "profile", "push"]
  }
}
