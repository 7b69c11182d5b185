# Credentials written into URLs: a warning where authd would use them
# (validate -strict makes it an error), and masked wherever a URL is
# quoted, in snippets and messages alike.
push_provider "webhook" "hook" {
  url = "https://push:literal-secret-value@push.example.com/send"
}

sms_gateway "webhook" "sms" {
  url     = "https://literal-secret-value@sms.example.com/send"
  headers = { "Content-Type" = "application/json" }
}

sms_gateway "webhook" "from_env" {
  url = env("SMS_HOOK_URL")
}

identity_provider "oidc" "corp" {
  issuer    = "https://idp:literal-secret-value@idp.example.com"
  client_id = "authd"
}

realm "corp" {}

relying_party "app" {
  realm         = realm.corp
  grant_types   = ["client_credentials"]
  client_secret = env("GRAFANA_SECRET")
  redirect_uris = ["http://app:literal-secret-value@app.example.com/cb"]
}
