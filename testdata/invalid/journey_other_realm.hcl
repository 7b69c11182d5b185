realm "corp" {}
realm "lab" {}

journey "vpn" {
  realm = realm.lab
  start = node.login
  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = node.mfa, failure = failure, locked = failure }
  }
  node "inner_journey" "mfa" {
    journey  = journey.mfa
    outcomes = { success = success, failure = failure }
  }
}

journey "mfa" {
  realm = realm.corp
  start = node.ask
  node "otp_or_push" "ask" {
    outcomes = { code = node.verify, push = failure, not_enrolled = failure }
  }
  node "otp_verify" "verify" {
    outcomes = { success = success, failure = failure, not_enrolled = failure }
  }
}

radius_policy "vpn" {
  realm   = realm.corp
  journey = journey.vpn
}

relying_party "web" {
  realm         = realm.corp
  journey       = journey.vpn
  client_secret = env("GRAFANA_SECRET")
  redirect_uris = ["https://app.example.com/cb"]
}

protected_resource "api" {
  realm           = realm.crop
  required_scopes = []
}
