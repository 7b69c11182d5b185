realm "corp" {}

journey "login" {
  realm = realm.corp

  node "credentials" "login" { next = success }
  node "choice" "pick" {}
}

radius_client "nas" {
  address = "192.0.2.1"
}
