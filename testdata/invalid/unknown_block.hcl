relm "corp" {}

api_client "ci" {
  realm = realm.corp
}
