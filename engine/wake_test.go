package engine_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/authd/authd/engine/store/memstore"
)

// TestAfterWakeParksWithoutAGoroutine: a parked holder is called at the
// wake (or at once when the wake came first), counts as holding the
// session until then, and can be taken back.
func TestAfterWakeParksWithoutAGoroutine(t *testing.T) {
	e, _ := newEngine(t, memstore.New())
	tests := []struct {
		name       string
		wakeFirst  bool // the wake arrives before the holder parks
		stop       bool // the holder lets go before the wake
		alsoChan   bool // a WakeChan holder shares the session
		wantCalled bool
		wantStop   bool // what stop reports
		wantHeld   bool // what the wake's WakeHeld reports
	}{
		{name: "woken", wantCalled: true, wantHeld: true},
		{name: "wake came first", wakeFirst: true, wantCalled: true},
		{name: "let go", stop: true, wantStop: true},
		{name: "let go, a channel still holds", stop: true, alsoChan: true, wantStop: true, wantHeld: true},
		{name: "woken with a channel holder", alsoChan: true, wantCalled: true, wantHeld: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("s%d", i)
			if tt.wakeFirst {
				e.Wake(id)
			}
			called := make(chan struct{}, 2)
			stop := e.AfterWake(id, func() { called <- struct{}{} })
			var c <-chan struct{}
			if tt.alsoChan {
				c = e.WakeChan(id)
			}
			if tt.stop {
				if got := stop(); got != tt.wantStop {
					t.Errorf("stop = %v, want %v", got, tt.wantStop)
				}
			}
			if !tt.wakeFirst {
				if got := e.WakeHeld(id); got != tt.wantHeld {
					t.Errorf("WakeHeld = %v, want %v", got, tt.wantHeld)
				}
			}
			if tt.wantCalled {
				select {
				case <-called:
				case <-time.After(10 * time.Second):
					t.Fatal("f was not called")
				}
				if stop() {
					t.Error("stop after f ran said it took f back")
				}
			}
			if c != nil {
				select {
				case <-c:
				default:
					t.Error("the channel holder was not woken")
				}
			}
			// Never called twice, nor after a stop.
			e.Wake(id)
			select {
			case <-called:
				t.Error("f ran again, or after it was taken back")
			case <-time.After(50 * time.Millisecond):
			}
		})
	}
}
