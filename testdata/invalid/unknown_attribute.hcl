realm "corp" {
  display_nam = "Example Corp"
  lockout {
    max_failure = 5
  }
}

radius_client "fortigate" {
  adress = "127.0.0.1"
  secret = env("FORTIGATE_SECRET")
}

push_provider "poll" "poll" {
  url = "https://push.example.com"
}
