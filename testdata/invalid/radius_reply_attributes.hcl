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

# Unknown names, reserved attributes and constants of the wrong type.
radius_policy "constants" {
  clients = [radius_client.nas]
  realm   = realm.corp
  journey = journey.vpn
  reply_attributes = {
    "Fortinet-Group-Nme" = "vpn-users"
    "Sesion-Timeout"     = 28800
    "No-Such-Attribute"  = "x"
    "State"              = "0x00"
    "Session-Timeout"    = "eight hours"
    "Framed-IP-Address"  = "10.0.0.300"
    "Service-Type"       = "Framed-Usr"
    "Idle-Timeout"       = true
    "Filter-Id"          = { a = "b" }
    "session-timeout"    = 60
  }
}

# Runtime expressions are checked by their type where it is known.
radius_policy "expressions" {
  clients = [radius_client.nas]
  realm   = realm.corp
  journey = journey.vpn
  reply_attributes = {
    "Fortinet-Group-Name" = user.groups
    "Class"               = user.attributes
    "Session-Timeout"     = user.name == "root"
    "Framed-IP-Address"   = [user.name, true]
    "Reply-Message"       = "Welcome, ${user.name}"
    "Service-Type"        = "Framed-User"
  }
  appended_factor = "yes"
}
