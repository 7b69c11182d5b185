package dsl_test

// The RADIUS front end registers its dictionary check with dsl from an
// init function; importing it here puts it in the test binary, so
// TestGolden (testdata/invalid/radius_reply_attributes.hcl) sees reply
// attributes checked as authd validate does. protocols/radius imports
// dsl, so only an external test file can import it.
import _ "github.com/authd/authd/protocols/radius"
