# Scenario files with mistakes: the golden lists each diagnostic with its
# file:line:column.

user "alice" {
  password = "x"
  realm    = "crop"
  otp      = "yes"
}

user "alice" {
  password = "y"
}

user "bob" {
  password   = "z"
  otp_secret = "JBSWY3DPEHPK3PXP"
}

scenario "typos" {
  frontend = "ldap"
  device   = "pick forty-two"
  colour   = "blue"

  step {
    advance = "soon"
    answer  = { code = totp_now("alice"), user = someone }
  }

  expect {
    outcome = "won"
  }
}

scenario "unknown names" {
  journey = "logn"
}

scenario "unknown nodes" {
  journey = "login"

  step {
    expect_node = "chek"
  }

  expect {
    path   = ["login", "chek"]
    claims = { email = "a@b" }
  }
}

scenario "radius without clients" {
  frontend = "radius"
}

scenario "unknown nodes" {
  journey = "login"
}
