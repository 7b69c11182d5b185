server {
  http {
    listen     = "9000"
    public_url = "auth.example.com"
    tls {
      cert_file = "cert.pem"
    }
  }
  store {
    path = ""
  }
  metrics {}
}
