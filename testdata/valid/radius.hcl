server {
  radius {
    listen            = "127.0.0.1:1812"
    accounting_listen = "127.0.0.1:1813"
  }
}

realm "corp" {
  push_providers = [push_provider.poll]
}

push_provider "poll" "poll" {}

# Nested networks are fine: the most specific wins.
radius_client "office" {
  address = "192.0.2.0/24"
  secret  = env("FORTIGATE_SECRET")
}
radius_client "fortigate" {
  address = "192.0.2.10"
  secret  = env("FORTIGATE_SECRET")
  timeout = "150s"
}
radius_client "v6" {
  address                       = "2001:db8::/32"
  secret                        = env("FORTIGATE_SECRET")
  require_message_authenticator = true
  limit_proxy_state             = true
  timeout                       = "150s"
}

journey "vpn" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = node.route, failure = failure, locked = failure }
  }
  node "condition" "route" {
    when     = contains(user.groups, "contractors") || request.radius.calling_station_id == ""
    outcomes = { true = node.push, false = node.mark }
  }
  node "set_state" "mark" {
    values = { vpn_profile = "staff", checked_at = now }
    next   = success
  }
  node "push_sender" "push" {
    message_timeout = "2m"
    push_type       = "challenge"
    remove_skip     = true
    outcomes        = { sent = node.wait, not_registered = failure }
  }
  node "push_wait" "wait" {
    seconds  = 5
    outcomes = { done = node.verify, exit = failure }
  }
  node "push_result_verifier" "verify" {
    outcomes = { success = success, failure = failure, expired = node.push, waiting = node.wait }
  }
}

radius_policy "fortigate" {
  clients = [radius_client.fortigate]
  realm   = realm.corp
  journey = journey.vpn
  when    = request.radius.nas_identifier != "lab" && !contains(user.groups, "disabled")
  reply_attributes = {
    "Fortinet-Group-Name" = user.groups
    "Class"               = coalesce(state.vpn_profile, "mfa")
    "Reply-Message"       = format("Welcome, %s", user.name)
  }
}

radius_policy "v6" {
  clients = [radius_client.v6]
  realm   = realm.corp
  journey = journey.vpn
}
