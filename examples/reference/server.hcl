# Listeners and the store. public_url is the address phones and browsers
# reach, which may differ from the listening address behind NAT or a proxy.
server {
  http {
    listen     = "127.0.0.1:9000"
    public_url = "https://auth.example.com"
  }
  radius {
    listen = "127.0.0.1:1812"
  }
  store {
    path = "authd.db"
    # How long the audit log keeps entries; swept hourly. At least 1h, or
    # "0" to keep them forever (a warning: the store then only grows).
    audit_retention = "90d"
  }
}
