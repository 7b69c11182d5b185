# Listeners and the store. RADIUS is what the FortiGate talks to; HTTP
# serves the journey API (phone enrolment, below) and the poll push
# provider the authenticator app fetches its pushes from. public_url is
# the address phones reach, which may differ behind NAT or a proxy.
server {
  http {
    listen     = "127.0.0.1:9000"
    public_url = "http://127.0.0.1:9000"
  }
  radius {
    # "[::]:1812" serves IPv6 and IPv4 alike.
    listen            = "0.0.0.0:1812"
    accounting_listen = "0.0.0.0:1813"
  }
  store {
    path = "authd.db"
  }
}
