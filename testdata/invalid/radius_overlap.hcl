radius_client "office" {
  address = "192.0.2.0/24"
  secret  = env("FORTIGATE_SECRET")
}

# Nested in office: fine, the most specific network wins.
radius_client "fortigate" {
  address = "192.0.2.10"
  secret  = env("FORTIGATE_SECRET")
}

radius_client "fortigate_ha" {
  address = "192.0.2.10/32"
  secret  = env("FORTIGATE_SECRET")
}

radius_client "mapped" {
  address = "::ffff:192.0.2.0/120"
  secret  = env("FORTIGATE_SECRET")
}

radius_client "bad" {
  address = "192.0.2.1/24"
  secret  = env("FORTIGATE_SECRET")
}

radius_client "name" {
  address = "vpn.example.com"
  secret  = env("FORTIGATE_SECRET")
}
