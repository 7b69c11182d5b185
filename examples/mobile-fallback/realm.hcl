# One realm whose users have a phone number: the push app when they have
# it, an SMS code when they do not.
realm "corp" {
  display_name    = "Example Corp"
  enrollment_mode = "override_allowed" # a new phone replaces the lost one
  default_locale  = "en"
  push_providers  = [push_provider.poll]
  sms_gateway     = sms_gateway.twilio

  lockout {
    max_failures = 5
    window       = "15m"
    duration     = "15m"
  }
}

# The app polls authd for pushes: no outside push service to set up.
push_provider "poll" "poll" {}

# Twilio's Messages API. For development, `sms_gateway "log" "dev" {}`
# writes the codes to the server log instead (authd validate -strict
# refuses it, so it cannot slip into production).
sms_gateway "twilio" "twilio" {
  account_sid = env("TW_SID")
  auth_token  = env("TW_TOKEN")
  from        = "+15550100"
}
