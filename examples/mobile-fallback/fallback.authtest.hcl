# Scenarios for the mobile-fallback example: `authd test examples/mobile-fallback`.
# The language is described in docs/testing.md.

clock = "2026-03-02T08:30:00Z"

user "pia" {
  password    = "pia-has-the-app"
  phone       = "+15550101"
  push_device = true
}

user "sid" {
  password = "sid-has-a-phone"
  phone    = "+15550102"
}

user "rob" {
  password       = "rob-has-codes-only"
  recovery_codes = 5
}

user "olga" {
  password   = "olga-opted-out"
  attributes = { mfa_opt_out = "true" }
}

user "nina" {
  password = "nina-sets-up"
}

scenario "login: push with number matching, approved" {
  journey = "login"
  device  = "approve"

  step {
    answer = { username = "pia", password = "pia-has-the-app" }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "push", "wait", "verify_push"]
    state   = { mfa_method = "push" }
  }
}

scenario "login: the wrong number is picked" {
  journey = "login"
  device  = "pick 3"

  step {
    answer = { username = "pia", password = "pia-has-the-app" }
  }

  expect {
    outcome = "failure"
    path    = ["login", "check", "push", "wait", "verify_push"]
  }
}

scenario "login: the push goes unanswered, an SMS code instead" {
  journey = "login"

  step {
    answer = { username = "pia", password = "pia-has-the-app" }
  }
  step {
    expect_node   = "wait"
    expect_prompt = "on your phone"
    advance       = "2m"
  }
  step {
    expect_node = "sms_code"
    answer      = { code = sms_code("pia") }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "push", "wait", "verify_push", "sms", "sms_code"]
  }
}

scenario "login: no app, an SMS code" {
  journey = "login"

  step {
    answer = { username = "sid", password = "sid-has-a-phone" }
  }
  step {
    expect_node = "sms_code"
    answer      = { code = sms_code("sid") }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "push", "sms", "sms_code"]
  }
}

scenario "login: a wrong SMS code three times" {
  journey = "login"

  step {
    answer = { username = "sid", password = "sid-has-a-phone" }
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

  expect {
    outcome = "failure"
  }
}

scenario "login: no app and no phone, a recovery code" {
  journey = "login"

  step {
    answer = { username = "rob", password = "rob-has-codes-only" }
  }
  step {
    expect_node   = "recovery"
    expect_prompt = "Recovery code"
    answer        = { code = recovery_code("rob") }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "push", "sms", "recovery"]
  }
}

scenario "login: a recovery code works once" {
  journey = "login"

  step {
    answer = { username = "rob", password = "rob-has-codes-only" }
  }
  step {
    answer = { code = "not-a-recovery-code" }
  }

  expect {
    outcome = "failure"
    path    = ["login", "check", "push", "sms", "recovery"]
  }
}

scenario "setup: users who opted out are not asked again" {
  journey = "setup"

  step {
    answer = { username = "olga", password = "olga-opted-out" }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "opted_out"]
  }
}

scenario "setup: an authenticator app, then recovery codes" {
  journey = "setup"

  step {
    answer = { username = "nina", password = "nina-sets-up" }
  }
  step {
    expect_node = "options"
    answer      = { choice = "register" }
  }
  step {
    expect_node   = "kind"
    expect_prompt = "Which app"
    answer        = { choice = "code" }
  }
  step {
    expect_node = "totp"
    answer      = { code = totp(qr) }
  }
  step {
    expect_node = "codes"
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "opted_out", "options", "kind", "totp", "codes"]
  }
}

scenario "setup: the push app, scanned at once" {
  journey = "setup"
  device  = "approve"

  step {
    answer = { username = "nina", password = "nina-sets-up" }
  }
  step {
    answer = { choice = "register" }
  }
  step {
    answer = { choice = "push" }
  }
  step {
    expect_node = "push_app"
  }
  step {
    expect_node = "codes"
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "opted_out", "options", "kind", "push_app", "codes"]
  }
}

scenario "setup: get the app first, then skip" {
  journey = "setup"

  step {
    answer = { username = "nina", password = "nina-sets-up" }
  }
  step {
    answer = { choice = "get_app" }
  }
  step {
    expect_node = "get_app"
  }
  step {
    expect_node = "options"
    answer      = { choice = "skip" }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "opted_out", "options", "get_app", "options"]
  }
}

scenario "setup: opting out" {
  journey = "setup"

  step {
    answer = { username = "nina", password = "nina-sets-up" }
  }
  step {
    answer = { choice = "opt_out" }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "opted_out", "options", "opt_out"]
  }
}

scenario "login: leaving the push wait for an SMS code" {
  journey = "login"

  step {
    answer = { username = "pia", password = "pia-has-the-app" }
  }
  step {
    expect_node = "wait"
    answer      = { wait = "exit" }
  }
  step {
    answer = { code = sms_code("pia") }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "push", "wait", "sms", "sms_code"]
  }
}
