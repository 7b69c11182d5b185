# The vpn journey, through the journey API and as a FortiGate sees it over
# RADIUS. Run with `authd test examples/reference`.

clock = "2026-01-01T09:00:00Z"

scenario "vpn: password, then push approved" {
  journey = "vpn"
  device  = "approve"

  step {
    expect_node = "login"
    answer      = { username = "alice", password = "alice-correct-horse" }
  }
  step {
    expect_node   = "mfa"
    expect_prompt = "submit a blank response to initiate a push"
    answer        = { code = "" }
  }

  expect {
    outcome = "success"
    user    = "alice"
    path    = ["login", "check", "mfa", "push", "wait", "verify_push"]
    state   = { mfa_method = "push" }
    pushes  = 1
  }
}

scenario "vpn: push denied on the phone" {
  journey = "vpn"
  device  = "deny"

  step {
    answer = { username = "alice", password = "alice-correct-horse" }
  }
  step {
    answer = { code = "push" }
  }

  expect {
    outcome = "failure"
    path    = ["login", "check", "mfa", "push", "wait", "verify_push"]
  }
}

scenario "vpn: an unanswered push expires and is sent again" {
  journey = "vpn"

  step {
    answer = { username = "alice", password = "alice-correct-horse" }
  }
  step {
    answer = { code = "" }
  }
  step {
    expect_node      = "wait"
    expect_callbacks = ["wait", "text"]
    advance          = "121s"
  }
  step {
    expect_node = "wait"
    device      = "approve"
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "mfa", "push", "wait", "verify_push", "push", "wait", "verify_push"]
    pushes  = 2
  }
}

scenario "vpn: a code from the authenticator app" {
  journey = "vpn"

  step {
    answer = { username = "bob", password = "bob-battery-staple" }
  }
  step {
    answer = { code = otp("bob") }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "mfa", "verify_code"]
  }
}

scenario "vpn: a wrong code, then the right one" {
  journey = "vpn"

  step {
    answer = { username = "bob", password = "bob-battery-staple" }
  }
  step {
    answer = { code = "000000" }
  }
  step {
    expect_node = "mfa"
    answer      = { code = otp("bob") }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "mfa", "verify_code", "retry", "mfa", "verify_code"]
  }
}

scenario "vpn: the fourth wrong code is the end" {
  journey = "vpn"

  step {
    answer = { username = "bob", password = "bob-battery-staple" }
  }
  step {
    answer = { code = "000000" }
  }
  step {
    answer = { code = "000001" }
  }
  step {
    answer = { code = "000002" }
  }
  step {
    answer = { code = "000003" }
  }

  expect {
    outcome = "failure"
    path = [
      "login", "check",
      "mfa", "verify_code", "retry",
      "mfa", "verify_code", "retry",
      "mfa", "verify_code", "retry",
      "mfa", "verify_code", "retry",
    ]
  }
}

scenario "vpn: no second factor enrolled" {
  journey = "vpn"

  step {
    answer = { username = "carol", password = "carol-has-no-phone" }
  }

  expect {
    outcome = "failure"
    path    = ["login", "check", "mfa"]
  }
}

scenario "vpn: a wrong password stops at the check" {
  journey = "vpn"

  step {
    answer = { username = "alice", password = "not-her-password" }
  }

  expect {
    outcome = "failure"
    path    = ["login", "check"]
  }
}

scenario "vpn over RADIUS: push approved, groups for the FortiGate" {
  frontend       = "radius"
  nas_identifier = "fgt-hq"
  client_ip      = "198.51.100.20"
  device         = "approve"

  step {
    answer = { username = "alice", password = "alice-correct-horse" }
  }
  step {
    expect_node   = "mfa"
    expect_prompt = "+Please enter the token code"
    answer        = { password = "" }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "mfa", "push", "wait", "verify_push"]
    radius_attributes = {
      "Fortinet-Group-Name" = ["vpn-users", "staff"]
      "Session-Timeout"     = 28800
    }
  }
}

scenario "vpn over RADIUS: a code in the challenge" {
  frontend       = "radius"
  nas_identifier = "fgt-hq"

  step {
    answer = { username = "bob", password = "bob-battery-staple" }
  }
  step {
    expect_node = "mfa"
    answer      = { password = otp("bob") }
  }

  expect {
    outcome           = "success"
    radius_attributes = { "Fortinet-Group-Name" = "vpn-users" }
  }
}

scenario "vpn over RADIUS: the phone never answers" {
  frontend       = "radius"
  nas_identifier = "fgt-hq"

  step {
    answer = { username = "alice", password = "alice-correct-horse" }
  }
  step {
    answer = { password = "push" }
  }

  expect {
    outcome = "failure"
  }
}
