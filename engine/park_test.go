package engine_test

import (
	"testing"
	"time"

	"github.com/authd/authd/engine/store/memstore"
)

// TestParkRunsOnceForTheFirstEnd: the continuation runs once, for the
// first of the wake, the deadline and Cancel, and the session stops
// counting as held either way.
func TestParkRunsOnceForTheFirstEnd(t *testing.T) {
	tests := []struct {
		name       string
		wakeFirst  bool          // the wake came before the hold was parked
		hold       time.Duration // the hold's length
		wake       bool          // the session is woken while parked
		cancel     bool          // the front end takes the hold back
		wantRun    bool
		wantWoken  bool
		wantCancel bool // what Cancel reports
	}{
		{name: "woken", hold: time.Minute, wake: true, wantRun: true, wantWoken: true},
		{name: "woken before it parked", wakeFirst: true, hold: time.Minute, wantRun: true, wantWoken: true},
		{name: "deadline", hold: time.Millisecond, wantRun: true},
		{name: "taken back", hold: time.Minute, cancel: true, wantCancel: true},
		{name: "taken back after the wake", hold: time.Minute, wake: true, cancel: true, wantRun: true, wantWoken: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := newEngine(t, memstore.New())
			if tt.wakeFirst {
				e.Wake("s")
			}
			ran := make(chan bool, 2)
			p := e.Park("s", tt.hold, func(woken bool) { ran <- woken })
			if tt.wake {
				e.Wake("s")
			}
			var first bool
			if tt.wantRun {
				select {
				case first = <-ran:
				case <-time.After(5 * time.Second):
					t.Fatal("the continuation did not run")
				}
				if first != tt.wantWoken {
					t.Errorf("woken = %v, want %v", first, tt.wantWoken)
				}
			}
			if tt.cancel {
				if got := p.Cancel(); got != tt.wantCancel {
					t.Errorf("Cancel = %v, want %v", got, tt.wantCancel)
				}
			}
			if p.Cancel() {
				t.Error("a second Cancel took the hold back again")
			}
			// Nothing else runs: not the timer of a woken hold, not the
			// wake of a timed-out or cancelled one.
			e.Wake("s")
			select {
			case <-ran:
				t.Error("the continuation ran twice (or after Cancel)")
			case <-time.After(20 * time.Millisecond):
			}
			if e.Holding("s") {
				t.Error("the session still counts as held")
			}
		})
	}
}
