server {
  store {
    encryption_key = "literal-secret-value-store"
  }
}

radius_client "nas" {
  address = "192.0.2.1"
  secret  = "literal-secret-value-radius"
}

sms_gateway "twilio" "default" {
  account_sid = "AC123"
  auth_token  = "literal-secret-value-twilio"
  from        = "+15550100"
}

sms_gateway "webhook" "hook" {
  url = "https://sms.example.com/send"
  headers = {
    Authorization  = "Bearer literal-secret-value-header"
    "Content-Type" = "application/json"
  }
}

identity_provider "oidc" "google" {
  issuer        = "https://accounts.google.com"
  client_id     = "google-id"
  client_secret = "literal-secret-value-idp"
}
