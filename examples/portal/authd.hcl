# A portal starts the phone authentication of its logged-in user over the
# journey API and learns the result by a callback (the Nevis integration
# path). The user's phone shows where the request comes from: the portal's
# message, the browser and operating system of the user's login, and its
# location. See README.md for the calls.

server {
  http {
    listen = "127.0.0.1:9000"
    # The address phones reach: it goes into enrolment QR codes and pushes.
    public_url = "http://127.0.0.1:9000"
  }
  store {
    path = "authd.db"
  }
}

realm "corp" {
  display_name   = "Example Corp"
  default_locale = "en"
  # poll needs no outside service (authd authenticator, or any app that
  # fetches its pushes); add APNs / FCM providers for real phones.
  push_providers = [push_provider.poll]
}

push_provider "poll" "poll" {}

# The user registers a phone once: password, then the QR code.
journey "enroll" {
  realm       = realm.corp
  description = "Password, then register a phone for push"
  start       = node.login

  node "credentials" "login" {
    next = node.check
  }

  node "password_check" "check" {
    outcomes = {
      success = node.register
      failure = failure
      locked  = failure
    }
  }

  node "push_registration" "register" {
    outcomes = {
      success = success
      failure = failure
      timeout = failure
    }
  }
}

# What the portal starts: the user is named in the start request (the
# portal authenticated them already), then a push goes to their phone.
# Nobody answers prompts here: authd moves the journey on itself when the
# phone answers or the push expires, and the result goes to the callback.
# Since api_client "portal" lists it, only an api_client's start call
# begins it: the public journey API refuses (403), as the username node
# would believe any name an anonymous caller gave.
journey "portal_push" {
  realm       = realm.corp
  description = "A push the portal starts for its logged-in user"
  start       = node.user

  # Takes the user name from the start request.
  node "username" "user" {
    next = node.push
  }

  node "push_sender" "push" {
    push_type       = "tap"
    message_timeout = "120s"
    # Shown when the push was not started by an api_client; a portal's
    # start replaces it with its secure message.
    user_message = {
      en = "Sign-in to {{issuer}} as {{user}}"
      de = "Anmeldung bei {{issuer}} als {{user}}"
    }
    share_context   = true
    remove_skip     = true # a portal's user cannot skip the second factor
    capture_failure = true
    outcomes = {
      sent           = node.wait
      not_registered = failure # no phone yet: the callback says failure
      failure        = failure
    }
  }

  node "push_wait" "wait" {
    seconds = 30
    outcomes = {
      done = node.verify
      exit = failure
    }
  }

  node "push_result_verifier" "verify" {
    outcomes = {
      success = success
      failure = failure
      expired = failure
      waiting = node.wait
    }
  }
}

api_client "portal" {
  # Basic auth on the start call: the user name is "portal" (the block
  # name), the password this secret.
  secret = env("PORTAL_SECRET")

  # Requests from any other address are refused (403).
  allowed_ips = ["127.0.0.1", "::1", "10.20.0.0/16"]

  # The journeys the portal may start; any other is refused (403). A
  # journey listed here is started only by api_clients, never through the
  # public .../authenticate (its sessions are still polled there by id).
  journeys = [journey.portal_push]

  # A start may name one of these, exactly; the result is POSTed there.
  callback_urls = [
    "https://portal.example.com/authd/result",
    "http://127.0.0.1:8081/authd/result", # http only on loopback
  ]

  # The callback carries this basic auth, so the portal knows it is authd.
  callback_auth {
    username = "authd"
    password = env("PORTAL_CALLBACK_PASSWORD")
  }

  # The secure message per language (the start's language_code picks one;
  # a language without a template uses "en", then the built-in default).
  # Placeholders: [message] [browser] [operatingSystem] [countryCode]
  # [region] [city]. A start without a message uses the built-in default
  # message of its language (en, de, fr, it; English otherwise).
  message_templates = {
    en = "[message] Device: [operatingSystem] [browser], Location: [countryCode], [region], [city]"
    de = "[message] Gerät: [operatingSystem] [browser], Ort: [countryCode], [region], [city]"
    fr = "[message] Appareil : [operatingSystem] [browser], Lieu : [countryCode], [region], [city]"
    it = "[message] Dispositivo: [operatingSystem] [browser], Luogo: [countryCode], [region], [city]"
  }

  # The location comes from an offline MaxMind-format City database
  # (GeoLite2-City or DB-IP Lite; authd never asks the network). Download
  # one, then uncomment. Without it the message goes without device and
  # location, and the log says why.
  # geoip_database = "GeoLite2-City.mmdb"
}
