# The store keeps OTP secrets sealed with AES-256-GCM. The key is
# server.store.encryption_key when set (encryption_key = env("AUTHD_KEY"),
# at least 32 characters: openssl rand -base64 32), else $AUTHD_STORE_KEY,
# else DATA/store.key, which authd creates (mode 0600) on first use.
server {
  http {
    listen     = "127.0.0.1:9000"
    public_url = "https://auth.example.com"
  }
  store {
    path = "authd.db"
  }
}
