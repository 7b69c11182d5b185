radius_client "nas" {
  address = "192.0.2.1"
  secret  = env("NAS_SECRET")
}

identity_provider "oidc" "google" {
  issuer        = "https://accounts.google.com"
  client_id     = env("GOOGLE_CLIENT_ID")
  client_secret = trimspace(env("GOOGLE_SECRET"))
}
