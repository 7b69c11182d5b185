# The "before" of URL credentials in authd diff: the webhook URLs carry a
# password (which validate warns about); see new/config.hcl.
realm "corp" {}

journey "web" {
  realm = realm.corp
  start = node.login

  node "credentials" "login" {
    next = success
  }
}

relying_party "wiki" {
  realm         = realm.corp
  journey       = journey.web
  client_secret = env("WIKI_SECRET")
  redirect_uris = ["https://wiki.example.com/callback"]
}

push_provider "webhook" "hook" {
  url = "https://push:OldPushPassword@push.example.com/send"
}

sms_gateway "webhook" "sms" {
  url = "https://sms.example.com/send"
}
