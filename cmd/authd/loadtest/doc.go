// Package loadtest holds authd's bounded loopback load test (go test
// ./cmd/authd/loadtest; skipped with -short): 1,000 journey API sessions
// suspended and 500 RADIUS requests held for a push at once, against the
// bbolt store with the audit log on, then every push approved and every
// login checked. It is a package of its own so its minute under the race
// detector runs beside the other packages' tests, not after them.
package loadtest
