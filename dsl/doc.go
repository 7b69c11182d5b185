// Package dsl compiles a directory of authd HCL files into a Config: the
// engine's Program (realms and journeys with their nodes built) plus the
// front ends' settings (server, relying parties, RADIUS clients and
// policies, push providers, SMS gateways, protected resources, identity
// providers).
//
// Loading runs in fixed phases, as in Terraform's internal/configs and
// Nomad's jobspec2: parse every file, decode each top-level block with its
// own decodeXBlock function (which keeps the block's DeclRange), link the
// references between blocks, build each journey's nodes through the node
// type registry of package engine, and then run the whole-configuration
// checks (graph shape, data flow, runtime expressions, front-end fitness).
// Every problem is an hcl.Diagnostic with the narrowest source range, so
// `authd validate` can print all of them at once with a snippet; nothing in
// this package turns diagnostics into plain errors.
//
// Secrets (RADIUS shared secrets, client secrets, SMS tokens) come from
// env() or file(); a literal secret is a warning because these files live
// in Git. A Secret never prints its value, and the sources kept in
// Config.Files for diagnostic snippets have literal secrets masked.
package dsl
