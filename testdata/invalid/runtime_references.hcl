realm "corp" {}

journey "login" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.route }
  node "condition" "route" {
    when     = contains(user.group, "admins") || request.radius.nas_identifer == "lab"
    outcomes = { true = node.remember, false = failure }
  }
  node "set_state" "remember" {
    values = {
      who   = usr.name
      agent = request.user_agent.family
      mail  = user.attributes["mail"]
      first = user.groups[0]
      code  = env("CODE")
      at    = now
    }
    next = node.check
  }
  node "condition" "check" {
    when     = upper(user.groups) == "X"
    outcomes = { true = success, false = node.greet }
  }
  node "message" "greet" {
    text = lowr(user.name)
    next = failure
  }
}
