server {
  radius {
    listen = "127.0.0.1:1812"
  }
}

realm "corp" {
  push_providers = [push_provider.poll]
}

push_provider "poll" "poll" {}

journey "vpn" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = node.enrol, failure = failure, locked = failure }
  }
  node "inner_journey" "enrol" {
    journey  = journey.enrol
    outcomes = { success = success, failure = failure }
  }
}

journey "enrol" {
  realm = realm.corp
  start = node.app
  node "get_authenticator_app" "app" { next = node.register }
  node "push_registration" "register" {
    outcomes = { success = success, failure = failure, timeout = failure }
  }
}

radius_policy "vpn" {
  realm   = realm.corp
  journey = journey.vpn
}
