# Scenarios for the quick start's push journey: `authd test examples/quickstart`.
# The language is described in docs/testing.md.

user "phone_owner" {
  password    = "a phone in the pocket"
  push_device = true
}

user "newcomer" {
  password = "no phone enrolled yet"
}

user "locked_phone_owner" {
  password    = "whatever it was"
  push_device = true
  locked      = true
}

scenario "the push approved with the number shown" {
  journey = "push"
  device  = "approve"

  step {
    answer = { username = "phone_owner", password = "a phone in the pocket" }
  }

  expect {
    outcome = "success"
    user    = "phone_owner"
    path    = ["login", "check", "push", "wait", "verify"]
    state   = { mfa_method = "push" }
  }
}

scenario "another number picked is a denial" {
  journey = "push"
  device  = "pick 5"

  step {
    answer = { username = "phone_owner", password = "a phone in the pocket" }
  }

  expect {
    outcome = "failure"
    path    = ["login", "check", "push", "wait", "verify"]
  }
}

scenario "the push denied" {
  journey = "push"
  device  = "deny"

  step {
    answer = { username = "phone_owner", password = "a phone in the pocket" }
  }

  expect {
    outcome = "failure"
    path    = ["login", "check", "push", "wait", "verify"]
  }
}

scenario "no answer: sent once more, then approved" {
  journey = "push"

  step {
    answer = { username = "phone_owner", password = "a phone in the pocket" }
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
    path    = ["login", "check", "push", "wait", "verify", "resend", "push", "wait", "verify"]
    pushes  = 2
  }
}

scenario "no answer twice: the login fails" {
  journey = "push"

  step {
    answer = { username = "phone_owner", password = "a phone in the pocket" }
  }
  step {
    advance = "121s"
  }
  step {
    advance = "121s"
  }

  expect {
    outcome = "failure"
    path    = ["login", "check", "push", "wait", "verify", "resend", "push", "wait", "verify", "resend"]
    pushes  = 2
  }
}

scenario "a user without a phone enrols one, then approves" {
  journey = "push"
  device  = "approve"

  step {
    answer = { username = "newcomer", password = "no phone enrolled yet" }
  }
  step {
    expect_node      = "register"
    expect_callbacks = ["text", "qr", "wait"]
  }

  expect {
    outcome = "success"
    user    = "newcomer"
    path    = ["login", "check", "push", "register", "push", "wait", "verify"]
  }
}

scenario "a wrong password sends no push" {
  journey = "push"
  device  = "approve"

  step {
    answer = { username = "phone_owner", password = "not it" }
  }

  expect {
    outcome = "failure"
    path    = ["login", "check"]
    pushes  = 0
  }
}

scenario "an enrolment nobody completes times out" {
  journey = "push"

  step {
    answer = { username = "newcomer", password = "no phone enrolled yet" }
  }
  step {
    expect_node = "register"
    advance     = "301s"
  }

  expect {
    outcome = "failure"
    path    = ["login", "check", "push", "register"]
  }
}

scenario "a locked account gets no push" {
  journey = "push"
  device  = "approve"

  step {
    answer = { username = "locked_phone_owner", password = "whatever it was" }
  }

  expect {
    outcome = "failure"
    path    = ["login", "check"]
    pushes  = 0
  }
}
