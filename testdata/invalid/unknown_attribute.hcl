realm "corp" {
  display_nam = "Example Corp"
  lockout {
    max_failure = 5
  }
}
