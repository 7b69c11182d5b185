radius_client "outside" {
  address = "192.0.2.1"
  secret  = file("../../go.mod")
}

radius_client "absolute" {
  address = "192.0.2.2"
  secret  = file("/etc/passwd")
}

radius_client "missing" {
  address = "192.0.2.3"
  secret  = file("secrets/radius.txt")
}
