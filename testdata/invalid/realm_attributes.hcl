realm "corp" {
  enrollment_mode = "single-device"
  default_locale  = ""
  push_providers  = [push_provider.poll, push_provider.poll, push_provider.apple]
  sms_gateway     = sms_gateway.twilio

  lockout {
    max_failures = 0
    window       = "0"
    duration     = "15 min"
  }
  lockout {}
}

push_provider "poll" "poll" {}
push_provider "apns" "ios" {
  team_id     = "ABCDE12345"
  key_id      = "XYZ987ABCD"
  key_file    = "AuthKey.p8"
  bundle_id   = "com.example.authenticator"
  environment = "prod"
}
push_provider "pager" "beeper" {}
sms_gateway "twilio" "default" {
  account_sid = env("TW_SID")
  auth_token  = env("TW_TOKEN")
}
