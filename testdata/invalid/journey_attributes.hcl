realm "corp" {}

journey "login" {
  realm           = realm.nowhere
  start           = node.login
  session_timeout = "10 minutes"
  node "credentials" "login" { next = success }
}

journey "short" {
  realm           = realm.corp
  start           = node.login
  session_timeout = "0"
  node "credentials" "login" { next = success }
}
