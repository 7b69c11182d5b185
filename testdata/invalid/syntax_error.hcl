realm "corp" {
  display_name = "Example Corp"

journey "login" {
  realm = realm.corp
