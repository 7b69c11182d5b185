// Package load drives the push benchmarks' clients: a closed loop (a fixed
// number of workers, each starting the next call when its last one
// ended, so the load follows the server's speed) or an open loop (calls
// start at a fixed rate whatever the earlier ones are doing, the load a
// server sees from users who act independently).
package load

import (
	"sync"
	"time"
)

// Parallel runs f(0..n-1) on workers goroutines: a closed loop.
func Parallel(n, workers int, f func(int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// OpenLoop starts f(0..n-1) at rate a second, each in its own goroutine,
// and waits for all of them.
func OpenLoop(n, rate int, f func(int)) {
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := range n {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i)
		}()
	}
	wg.Wait()
}
