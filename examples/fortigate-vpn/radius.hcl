# The FortiGate. Its address is the source of its RADIUS packets (the
# interface it reaches authd through, or set source-ip on the FortiGate).
radius_client "fortigate" {
  address = "192.0.2.1"
  secret  = env("FORTIGATE_SECRET")
  # BlastRADIUS (CVE-2024-3596): requests without a Message-Authenticator
  # are dropped (the default). Set false only for a NAS that cannot send
  # one; validate warns.
  require_message_authenticator = true
  # The FortiGate's remoteauthtimeout (config system global), raised from
  # its default of 5 s so a push can be answered; validate warns when a
  # push could outlast it.
  timeout = "60s"
}

radius_policy "vpn" {
  clients = [radius_client.fortigate]
  realm   = realm.corp
  journey = journey.vpn

  # Evaluated on Access-Accept. The FortiGate maps Fortinet-Group-Name to
  # its user groups (config user group / config match / set group-name);
  # a list gives one attribute per group.
  reply_attributes = {
    "Fortinet-Group-Name" = user.groups
    "Session-Timeout"     = 28800
  }
}
