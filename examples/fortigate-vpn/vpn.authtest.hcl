# Scenarios for the FortiGate example: `authd test examples/fortigate-vpn`.
# The RADIUS ones send the Access-Requests a FortiGate sends; see
# docs/testing.md for the language.

user "alice" {
  password    = "alice-vpn-password"
  groups      = ["vpn-users", "admins"]
  otp         = true
  push_device = true
}

user "bob" {
  password = "bob-vpn-password"
  groups   = ["vpn-users"]
  otp      = true
}

user "carol" {
  password = "carol-vpn-password"
}

scenario "RADIUS: password, then a token code" {
  frontend       = "radius"
  nas_identifier = "fgt-branch-1"
  client_ip      = "203.0.113.50"

  step {
    answer = { username = "bob", password = "bob-vpn-password" }
  }
  step {
    expect_node   = "otp_or_push"
    expect_prompt = "+Please enter the token code"
    answer        = { password = otp("bob") }
  }

  expect {
    outcome = "success"
    path    = ["credentials", "password_check", "otp_or_push", "otp_verify"]
    radius_attributes = {
      "Fortinet-Group-Name" = ["vpn-users"]
      "Session-Timeout"     = 28800
    }
  }
}

scenario "RADIUS: a blank response sends a push, approved" {
  frontend = "radius"
  device   = "approve"

  step {
    answer = { username = "alice", password = "alice-vpn-password" }
  }
  step {
    answer = { password = "" }
  }

  expect {
    outcome           = "success"
    path              = ["credentials", "password_check", "otp_or_push", "push_sender", "push_wait", "push_result_verifier"]
    radius_attributes = { "Fortinet-Group-Name" = ["vpn-users", "admins"] }
    pushes            = 1
  }
}

scenario "RADIUS: the word push, denied on the phone" {
  frontend = "radius"
  device   = "deny"

  step {
    answer = { username = "alice", password = "alice-vpn-password" }
  }
  step {
    answer = { password = "push" }
  }

  expect {
    outcome = "failure"
    path    = ["credentials", "password_check", "otp_or_push", "push_sender", "push_wait", "push_result_verifier"]
  }
}

scenario "RADIUS: a mistyped code is asked again" {
  frontend = "radius"

  step {
    answer = { username = "bob", password = "bob-vpn-password" }
  }
  step {
    answer = { password = "123456" }
  }
  step {
    expect_node   = "otp_or_push"
    expect_prompt = "token code"
    answer        = { password = otp("bob") }
  }

  expect {
    outcome = "success"
    path    = ["credentials", "password_check", "otp_or_push", "otp_verify", "retry", "otp_or_push", "otp_verify"]
  }
}

scenario "RADIUS: a wrong password is rejected at once" {
  frontend = "radius"

  step {
    answer = { username = "alice", password = "guess" }
  }

  expect {
    outcome = "failure"
    path    = ["credentials", "password_check"]
  }
}

scenario "RADIUS: no token and no phone" {
  frontend = "radius"

  step {
    answer = { username = "carol", password = "carol-vpn-password" }
  }

  expect {
    outcome = "failure"
    path    = ["credentials", "password_check", "otp_or_push"]
  }
}

scenario "RADIUS: the phone never answers" {
  frontend = "radius"

  step {
    answer = { username = "alice", password = "alice-vpn-password" }
  }
  step {
    answer = { password = "" }
  }

  expect {
    outcome = "failure"
    pushes  = 1
  }
}

scenario "API: the push expires after 50 seconds" {
  journey = "vpn"

  step {
    answer = { username = "alice", password = "alice-vpn-password" }
  }
  step {
    answer = { code = "" }
  }
  step {
    expect_node = "push_wait"
    advance     = "51s"
  }

  expect {
    outcome = "failure"
    path    = ["credentials", "password_check", "otp_or_push", "push_sender", "push_wait", "push_result_verifier"]
    reason  = "expired"
  }
}

scenario "enrolment: the app scans the code" {
  journey = "enroll"
  device  = "approve"

  step {
    answer = { username = "bob", password = "bob-vpn-password" }
  }
  step {
    expect_node      = "register"
    expect_callbacks = ["text", "qr", "wait"]
  }

  expect {
    outcome = "success"
    path    = ["credentials", "password_check", "register"]
  }
}

scenario "enrolment: one phone per user" {
  journey = "enroll"
  device  = "approve"

  step {
    answer = { username = "alice", password = "alice-vpn-password" }
  }

  expect {
    outcome = "failure"
    path    = ["credentials", "password_check", "register"]
  }
}

scenario "enrolment: the code is not scanned in time" {
  journey = "enroll"

  step {
    answer = { username = "bob", password = "bob-vpn-password" }
  }
  step {
    advance = "181s"
  }

  expect {
    outcome = "failure"
    reason  = "expired unused"
  }
}
