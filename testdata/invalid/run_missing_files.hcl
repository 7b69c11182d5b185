server {
  http {
    listen = "127.0.0.1:9443"
    tls {
      cert_file = "tls/cert.pem"
      key_file  = "tls/key.pem"
    }
  }
}

push_provider "apns" "ios" {
  team_id   = "ABCDE12345"
  key_id    = "XYZ987ABCD"
  key_file  = "secrets/AuthKey.p8"
  bundle_id = "com.example.authenticator"
}

push_provider "fcm" "android" {
  credentials_file = "secrets/firebase.json"
}
