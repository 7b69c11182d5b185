realm "corp" {
  display_name = "Corp again"
}

server {
  http {
    listen = "localhost"
  }
  radius {
    listen            = "127.0.0.1:1812"
    accounting_listen = "127.0.0.1:1812"
  }
}
