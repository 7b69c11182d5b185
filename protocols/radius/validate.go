package radius

import "github.com/authd/authd/dsl"

// init hands the dictionaries to dsl, which checks every radius_policy's
// reply_attributes against them when a configuration loads. dsl cannot
// import this package (it imports dsl), so the check is registered here:
// any program that serves RADIUS — authd run, authd validate — links this
// package in and so validates exactly what it would send.
func init() {
	dsl.RegisterReplyAttributeChecker(CheckAttribute, KnownAttributes)
}
