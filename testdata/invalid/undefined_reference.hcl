realm "corp" {
  push_providers = [push_provider.ois]
}

push_provider "poll" "ios" {}

journey "login" {
  realm = realm.crop
  start = node.logn
  node "credentials" "login" { next = node.chek }
  node "password_check" "check" {
    outcomes = { success = success, failure = failure, locked = node.lockd }
  }
}

radius_policy "vpn" {
  clients = [radius_client.fortigate]
  realm   = realm.corp
  journey = journey.logni
}
