radius_client "fortigate" {
  address                       = "127.0.0.1/32"
  secret                        = env("FORTIGATE_SECRET")
  require_message_authenticator = true
  # The FortiGate waits remoteauthtimeout seconds for an answer (default 5).
  # A push needs longer: on the FortiGate run
  #   config system global / set remoteauthtimeout 130 / end
  # and declare the same here, so validate can check push waits against it.
  timeout = "130s"
}

# The first matching policy wins.
radius_policy "vpn" {
  clients = [radius_client.fortigate]
  realm   = realm.corp
  journey = journey.vpn
  when    = request.radius.nas_identifier != "lab"

  # Evaluated on Access-Accept; a list gives one attribute per value.
  reply_attributes = {
    "Fortinet-Group-Name" = user.groups
    "Session-Timeout"     = 28800
  }
}
