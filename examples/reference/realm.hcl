realm "corp" {
  display_name    = "Example Corp"
  enrollment_mode = "single_device"
  default_locale  = "en"
  push_providers  = [push_provider.ios, push_provider.android, push_provider.poll]
  sms_gateway     = sms_gateway.default

  lockout {
    max_failures = 5
    window       = "15m"
    duration     = "15m"
  }
}

# Apple, token (.p8) authentication. Paths are relative to this directory.
push_provider "apns" "ios" {
  team_id     = "ABCDE12345"
  key_id      = "XYZ987ABCD"
  key_file    = "secrets/AuthKey.p8"
  bundle_id   = "com.example.authenticator"
  environment = "production"
}

push_provider "fcm" "android" {
  credentials_file = "secrets/firebase.json"
}

# The device polls authd; needs no outside service.
push_provider "poll" "poll" {}

sms_gateway "twilio" "default" {
  account_sid = env("TW_SID")
  auth_token  = env("TW_TOKEN")
  from        = "+15550100"
}
