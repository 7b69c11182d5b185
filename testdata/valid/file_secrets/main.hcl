server {
  store {
    encryption_key = env("STORE_KEY")
  }
}

radius_client "nas" {
  address = "192.0.2.1"
  secret  = trimspace(file("secrets/radius.txt"))
}

sms_gateway "webhook" "hook" {
  url = "https://sms.example.com/send"
  headers = {
    Authorization  = "Bearer ${env("TW_TOKEN")}"
    "Content-Type" = "application/json"
  }
}
