server {
  radius {
    listen = "127.0.0.1:1812"
  }
}

realm "corp" {}

journey "vpn" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = success, failure = failure, locked = failure }
  }
}

radius_client "nas" {
  address = "192.0.2.1"
  secret  = env("FORTIGATE_SECRET")
}

radius_policy "by_state" {
  clients = [radius_client.nas]
  realm   = realm.corp
  journey = journey.vpn
  when    = state.tries == 1 || now == "x"
}

radius_policy "not_bool" {
  realm   = realm.corp
  journey = journey.vpn
  when    = request.radius.nas_identifier
}

radius_policy "replies" {
  realm   = realm.corp
  journey = journey.vpn
  reply_attributes = {
    "Fortinet-Group-Name" = user.grups
    "Class"               = state.nothing
    "Session-Timeout"     = 28800
    "Session-Timeout"     = 3600
  }
}

radius_policy "reply_list" {
  realm            = realm.corp
  journey          = journey.vpn
  reply_attributes = ["Session-Timeout"]
}
