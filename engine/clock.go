package engine

import "time"

// Clock supplies the time to the engine and its nodes; nodes never call
// time.Now, so tests and `authd test` scenarios can move time by hand.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock used by `authd run`.
type SystemClock struct{}

// Now returns the current UTC time.
func (SystemClock) Now() time.Time { return time.Now().UTC() }
