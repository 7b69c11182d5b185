# Fixture users for the reference scenarios (vpn.authtest.hcl,
# web.authtest.hcl). Every *.authtest.hcl file of the directory shares them;
# each scenario starts from them afresh. See docs/testing.md.

clock = "2026-01-01T09:00:00Z"

user "alice" {
  password    = "alice-correct-horse"
  email       = "alice@example.com"
  groups      = ["vpn-users", "staff"]
  otp         = true
  push_device = true
}

user "bob" {
  password = "bob-battery-staple"
  groups   = ["vpn-users"]
  otp      = true
}

user "carol" {
  password = "carol-has-no-phone"
  groups   = ["contractors"]
}
