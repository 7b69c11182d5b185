# Every scenario here but the first fails on purpose.

user "alice" {
  password = "right"
  groups   = ["staff", "vpn"]
}

scenario "passes: the office network skips the choice" {
  journey   = "login"
  client_ip = "192.0.2.1"

  step {
    answer = { username = "alice", password = "right" }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "office", "tag"]
    state   = { tier = "gold", groups = 2 }
  }
}

scenario "wrong outcome: the password is wrong" {
  journey = "login"

  step {
    answer = { username = "alice", password = "wrong" }
  }

  expect {
    outcome = "success"
    path    = ["login", "check", "office", "pick", "tag"]
  }
}

scenario "wrong path: web leads to the goodbye message" {
  journey = "login"

  step {
    answer = { username = "alice", password = "right" }
  }
  step {
    expect_node   = "pick"
    expect_prompt = "Where to?"
    answer        = { choice = "web" }
  }
  step {
    expect_node = "bye"
  }

  expect {
    outcome = "failure"
    path    = ["login", "check", "office", "pick", "tag"]
  }
}

scenario "wrong prompt, node and callbacks" {
  journey = "login"

  step {
    expect_node      = "check"
    expect_prompt    = "Passphrase"
    expect_callbacks = ["password"]
    answer           = { username = "alice", password = "right" }
  }
  step {
    answer = { choice = "vpn" }
  }

  expect {
    outcome = "success"
  }
}

scenario "an answer nobody asked for" {
  journey = "login"

  step {
    answer = { username = "alice", password = "right", code = "123456" }
  }

  expect {
    outcome = "success"
  }
}

scenario "a step after the end" {
  journey   = "login"
  client_ip = "192.0.2.1"

  step {
    answer = { username = "alice", password = "right" }
  }
  step {
    answer = { choice = "vpn" }
  }

  expect {
    outcome = "success"
  }
}

scenario "wrong state and user" {
  journey   = "login"
  client_ip = "192.0.2.1"

  step {
    answer = { username = "alice", password = "right" }
  }

  expect {
    user  = "bob"
    state = { tier = "silver", missing = "x" }
  }
}

scenario "RADIUS: the attributes differ" {
  frontend = "radius"

  step {
    answer = { username = "alice", password = "right" }
  }
  step {
    expect_prompt = "Where to?"
    answer        = { password = "1" }
  }

  expect {
    outcome           = "success"
    path              = ["login", "check", "office", "pick", "tag"]
    radius_attributes = { "Class" = "silver", "Fortinet-Group-Name" = ["staff"] }
  }
}
