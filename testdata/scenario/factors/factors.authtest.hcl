user "sam" {
  password = "pw"
  phone    = "+15550100"
}

user "rita" {
  password       = "pw"
  recovery_codes = 3
}

user "hank" {
  password = "pw"
  otp      = "hotp"
}

user "newbie" {
  password = "pw"
}

user "owner" {
  password    = "pw"
  push_device = true
}

scenario "sms: the texted code" {
  journey = "sms"

  step {
    answer = { username = "sam", password = "pw" }
  }
  step {
    expect_node = "verify"
    answer      = { code = sms_code("sam") }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "send", "verify"]
  }
}

scenario "sms: no phone, a recovery code instead" {
  journey = "sms"

  step {
    answer = { username = "rita", password = "pw" }
  }
  step {
    expect_node = "recovery"
    answer      = { code = recovery_code("rita", 1) }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "send", "recovery"]
  }
}

scenario "hotp: the next code" {
  journey = "hotp"

  step {
    answer = { username = "hank", password = "pw" }
  }
  step {
    answer = { code = otp("hank") }
  }

  expect {
    outcome = "success"
  }
}

scenario "otp enrolment: the code of the QR code shown" {
  journey = "hotp"

  step {
    answer = { username = "newbie", password = "pw" }
  }
  step {
    expect_node      = "enrol"
    expect_callbacks = ["text", "qr", "code"]
    answer           = { code = totp(qr) }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "verify", "enrol"]
  }
}

scenario "push enrolment: the phone scans the code" {
  journey = "device"
  device  = "approve"

  step {
    answer = { username = "newbie", password = "pw" }
  }
  step {
    expect_node      = "register"
    expect_callbacks = ["text", "qr", "wait"]
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "register"]
  }
}

scenario "push enrolment: single_device refuses a second phone" {
  journey = "device"
  device  = "approve"

  step {
    answer = { username = "owner", password = "pw" }
  }

  expect {
    outcome = "failure"
  }
}

scenario "push enrolment: nobody scans in time" {
  journey = "device"

  step {
    answer = { username = "newbie", password = "pw" }
  }
  step {
    expect_node = "register"
    advance     = "121s"
  }

  expect {
    outcome = "failure"
    path    = ["login", "check", "register"]
    reason  = "expired unused"
  }
}

scenario "the session times out" {
  journey = "hotp"

  step {
    answer = { username = "hank", password = "pw" }
  }
  step {
    advance = "11m"
    answer  = { code = otp("hank") }
  }

  expect {
    outcome = "expired"
  }
}
