# The quick start: what `authd run` serves when no configuration is given.
# One realm, one journey: a user name and password checked against the
# realm's user store, with lockout after repeated failures.

server {
  http {
    listen = "127.0.0.1:9000"
  }
  store {
    path = "authd.db"
  }
}

realm "demo" {
  display_name = "authd demo"

  lockout {
    max_failures = 5
    window       = "15m"
    duration     = "15m"
  }
}

journey "login" {
  realm       = realm.demo
  description = "User name and password"
  start       = node.login

  node "credentials" "login" {
    next = node.check
  }

  node "password_check" "check" {
    outcomes = {
      success = success
      failure = failure
      locked  = failure
    }
  }
}
