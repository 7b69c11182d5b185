server {
  http {
    listen     = "127.0.0.1:9000"
    public_url = "https://auth.example.com"
  }
}

realm "corp" {
  lockout {
    max_failures = 5
    window       = "15m"
    duration     = "15m"
  }
}

journey "vpn" {
  realm = realm.corp
  start = node.login

  node "credentials" "login" {
    next = node.check
  }
  node "password_check" "check" {
    outcomes = {
      locked  = failure
      failure = failure
      success = node.verify
    }
  }
  node "otp_verify" "verify" {
    outcomes = { success = success, failure = node.retry, not_enrolled = failure }
  }
  node "retry_limit" "retry" {
    limit    = 3
    outcomes = { retry = node.verify, reject = failure }
  }
  node "message" "sorry" {
    text = { en = "Sorry" }
    next = failure
  }
}

