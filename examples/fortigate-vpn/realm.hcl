realm "corp" {
  display_name    = "Example Corp"
  enrollment_mode = "single_device"
  default_locale  = "en"
  # poll needs no outside service: the app (or `authd authenticator`)
  # fetches its pushes from authd. Add APNs/FCM providers for phones.
  push_providers = [push_provider.poll]

  # Wrong passwords and wrong codes count towards the lockout alike.
  lockout {
    max_failures = 5
    window       = "15m"
    duration     = "15m"
  }
}

push_provider "poll" "poll" {}
