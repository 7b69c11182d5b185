server {
  radius {
    listen = "127.0.0.1:1812"
  }
}

realm "corp" {
  push_providers = [push_provider.poll]
}

push_provider "poll" "poll" {}

radius_client "fortigate" {
  address = "192.0.2.1"
  secret  = env("FORTIGATE_SECRET")
}

radius_client "patient" {
  address = "192.0.2.2"
  secret  = env("FORTIGATE_SECRET")
  timeout = "3m"
}

radius_client "hurried" {
  address = "192.0.2.3"
  secret  = env("FORTIGATE_SECRET")
  timeout = "60s"
}

journey "vpn" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = node.push, failure = failure, locked = failure }
  }
  node "push_sender" "push" {
    message_timeout = "120s"
    remove_skip     = true
    outcomes        = { sent = node.wait, not_registered = failure }
  }
  node "push_wait" "wait" {
    outcomes = { done = node.verify, exit = failure }
  }
  node "push_result_verifier" "verify" {
    outcomes = { success = success, failure = failure, expired = failure, waiting = node.wait }
  }
}

radius_policy "vpn" {
  clients = [radius_client.fortigate, radius_client.patient, radius_client.hurried]
  realm   = realm.corp
  journey = journey.vpn
}
