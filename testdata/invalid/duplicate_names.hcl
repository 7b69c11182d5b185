realm "corp" {}
realm "corp" {}

journey "login" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.login2 }
  node "credentials" "login2" { next = success }
  node "username" "login2" { next = success }
}

journey "login" {
  realm = realm.corp
  start = node.a
  node "credentials" "a" { next = success }
}
