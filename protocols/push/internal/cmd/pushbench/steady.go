package main

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authd/authd/protocols/push/authenticator"
)

// steadyLoad is -steady: the steady state the other modes reach only
// after a ramp. Logins arrive at rate a second, as users come, and each
// holds a long poll at once; its device answers after a delay spread
// evenly over 0.5–1.5 times n/rate seconds, so about n logins are pending
// at any time. Nothing happens in herds: the polls end and re-issue
// spread over time, and the logins whose delay passes push_wait's 60 s
// reach that deadline one by one. Three n logins arrive in all; the
// answers of the middle n are timed, and RSS is read every second.
type steadyLoad struct {
	hc       *http.Client
	base     string
	accounts []*authenticator.Account // 3n
	pid      int
	n, rate  int
}

// steadyResult is what run reports from a steady load.
type steadyResult struct {
	lat, at    []time.Duration // the timed answers: latency, and when each was sent from the first arrival
	rss, hwm   float64         // RSS at the middle of the timed window, and the peak
	pendingMid int64           // logins pending then
}

func (sl *steadyLoad) run() (*steadyResult, error) {
	total := len(sl.accounts)
	mean := time.Duration(float64(sl.n) / float64(sl.rate) * float64(time.Second))
	client := &authenticator.Client{HTTP: sl.hc}
	lat := make([]time.Duration, total)
	at := make([]time.Duration, total)
	var pending, inFlight, bad atomic.Int64
	var wg sync.WaitGroup
	res := &steadyResult{}

	// RSS and the pending count, read once a second; the figure reported
	// is the one in the middle of the timed window (2 × mean after the
	// first arrival, when about n are pending).
	stop := make(chan struct{})
	sampled := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(sampled)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				rss, hwm := rssOf(sl.pid)
				res.hwm = hwm
				if res.rss == 0 && time.Since(start) >= 2*mean {
					res.rss, res.pendingMid = rss, pending.Load()
					fmt.Printf("  %v after the first arrival: %d logins pending, authd RSS %.1f MB (%s); %s\n",
						time.Since(start).Round(time.Second), res.pendingMid, rss, rssSplit(sl.pid), goMemory(sl.base))
				}
			}
		}
	}()

	tick := time.NewTicker(time.Second / time.Duration(sl.rate))
	defer tick.Stop()
	for i := 0; i < total; i++ {
		<-tick.C
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			arrived := time.Now()
			a := sl.accounts[i]
			l, err := startLogin(sl.hc, sl.base, a.User)
			if err != nil {
				bad.Add(1)
				fmt.Printf("  login %d: %v\n", i, err)
				return
			}
			pending.Add(1)
			defer pending.Add(-1)
			go l.hold(sl.hc, sl.base, &inFlight)
			// An even spread of delays (the golden-ratio sequence), the
			// same on every run.
			u := math.Mod(float64(i)*0.6180339887498949, 1)
			time.Sleep(time.Until(arrived.Add(time.Duration(float64(mean) * (0.5 + u)))))
			sent, took, err := answer(client, a, l)
			if err != nil {
				bad.Add(1)
				fmt.Printf("  login %d: %v\n", i, err)
				return
			}
			lat[i], at[i] = took, sent.Sub(start)
		}(i)
	}
	wg.Wait()
	close(stop)
	<-sampled
	if bad.Load() > 0 {
		return nil, fmt.Errorf("%d logins failed", bad.Load())
	}
	// The middle n: they arrived once about n were pending, and were
	// answered before the arrivals stopped.
	res.lat = slices.Clone(lat[sl.n : 2*sl.n])
	res.at = slices.Clone(at[sl.n : 2*sl.n])
	return res, nil
}
