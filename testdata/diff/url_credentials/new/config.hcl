# The "after": only the push webhook's password changed (the diff says
# so without showing either), the SMS webhook gained a password and a
# token as user name, and a redirect URI with a password was added. No
# password may appear in the text or Markdown report.
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
  redirect_uris = ["https://wiki.example.com/callback", "https://wiki:NewRedirectPassword@evil.example.net/cb"]
}

push_provider "webhook" "hook" {
  url = "https://push:NewPushPassword@push.example.com/send"
}

sms_gateway "webhook" "sms" {
  url = "https://NewSmsToken@sms.example.com/send?to=x"
}
