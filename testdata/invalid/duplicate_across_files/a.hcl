realm "corp" {}

server {
  http {
    listen = "127.0.0.1:9000"
  }
}
