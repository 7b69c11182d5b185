# authd validate -strict refuses the development SMS gateway.
sms_gateway "log" "dev" {}

sms_gateway "twilio" "prod" {
  account_sid = "AC123"
  auth_token  = env("TW_TOKEN")
  from        = "+15550100"
  base_url    = "ftp://example.com"
}
