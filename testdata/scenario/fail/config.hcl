# A small configuration whose scenarios (fail.authtest.hcl) expect the
# wrong things on purpose: the golden report shows how each failure reads.
realm "corp" {
  lockout {
    max_failures = 3
  }
}

journey "login" {
  realm = realm.corp
  start = node.login

  node "credentials" "login" {
    next = node.check
  }
  node "password_check" "check" {
    outcomes = { success = node.office, failure = failure, locked = failure }
  }
  node "condition" "office" {
    when     = request.client_ip == "192.0.2.1"
    outcomes = { true = node.tag, false = node.pick }
  }
  node "choice" "pick" {
    options  = ["vpn", "web"]
    prompt   = "Where to?"
    outcomes = { vpn = node.tag, web = node.bye }
  }
  node "set_state" "tag" {
    values = { tier = "gold", groups = length(user.groups) }
    next   = success
  }
  node "message" "bye" {
    text = { en = "Goodbye" }
    next = failure
  }
}

radius_client "nas" {
  address                       = "10.0.0.0/24"
  secret                        = env("NAS_SECRET")
  require_message_authenticator = true
}

radius_policy "all" {
  realm   = realm.corp
  journey = journey.login
  reply_attributes = {
    "Class"               = "gold"
    "Fortinet-Group-Name" = user.groups
  }
}
