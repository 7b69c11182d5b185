// Package examples carries the example configurations into the binary:
// `authd run` serves the quick start when it finds no configuration, so a
// first run works with nothing but the binary.
package examples

import "embed"

// Quickstart holds quickstart/*.hcl, the configuration `authd run` serves
// when none is given (realm "demo", journey "login").
//
//go:embed quickstart/*.hcl
var Quickstart embed.FS
