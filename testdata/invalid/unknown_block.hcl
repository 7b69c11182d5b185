relm "corp" {}
