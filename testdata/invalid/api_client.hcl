realm "corp" {}

journey "push_login" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = success, failure = failure, locked = failure }
  }
}

api_client "portal" {
  secret        = "literal-secret-value"
  allowed_ips   = ["10.0.0.0/8", "192.0.2.300", "10.1.0.1/16"]
  journeys      = [journey.push_logn]
  callback_urls = [
    "https://portal.example.com/authd/result",
    "http://portal.example.com/result",
    "http://127.0.0.1:8080/result",
    "https://user:pw@portal.example.com/x",
    "ftp://portal.example.com/x",
  ]
  message_templates = {
    en = "[message] Browser: [browsr]"
    de = "Gerät: [browser]"
  }
  callback_auth {
    username = "authd"
    password = "literal-secret-value"
  }
}

api_client "open" {
  secret      = env("PORTAL_SECRET")
  allowed_ips = ["0.0.0.0/0"]
  journeys    = [journey.push_login]
}
