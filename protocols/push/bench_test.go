package push_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/devices"
	"github.com/authd/authd/engine/store"
	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/engine/store/memstore"
	"github.com/authd/authd/protocols/push"
	"github.com/authd/authd/protocols/push/authenticator"
	"github.com/authd/authd/protocols/push/internal/load"
	"github.com/authd/authd/protocols/push/wire"
)

// benchHCL is the smallest push journey: a user name, a push, the wait.
const benchHCL = `
realm "corp" {
  enrollment_mode = "multiple_devices"
  push_providers  = [push_provider.poll]
}
push_provider "poll" "poll" {}
journey "push" {
  realm = realm.corp
  start = node.who
  node "username" "who" { next = node.push }
  node "push_sender" "push" {
    push_type       = "challenge"
    remove_skip     = true
    outcomes = { sent = node.wait, not_registered = failure }
  }
  node "push_wait" "wait" {
    seconds  = 60
    outcomes = { done = node.verify, exit = failure }
  }
  node "push_result_verifier" "verify" {
    outcomes = { success = success, failure = failure, expired = failure, waiting = node.wait }
  }
}
`

// BenchmarkPendingPushes10k holds 10,000 logins waiting for a push at
// once, each parked on the engine's wake with a timer (engine.Park, as
// the journey API parks a long poll; AUTHD_BENCH_HOLD=goroutine holds each on
// a goroutine instead, as an HTTP/2 long poll is), then answers them from
// devices over loopback HTTP and measures the time from sending a
// device's answer to the held journey's resumed reply, and the memory of
// the whole process while all 10,000 wait. AUTHD_BENCH_C answers that
// many at a time (default 4, a closed loop); AUTHD_BENCH_RATE starts that
// many answers a second instead (an open loop); AUTHD_BENCH_STORE=memory
// uses the in-memory store instead of bbolt; AUTHD_BENCH_N changes the
// count; AUTHD_BENCH_MEMPROFILE=p writes heap profiles around the answers
// (see writeHeapProfile).
//
//	go test -run XXX -bench PendingPushes10k -benchtime 1x ./protocols/push/
func BenchmarkPendingPushes10k(b *testing.B) {
	n := 10_000
	if v := os.Getenv("AUTHD_BENCH_N"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	for i := 0; i < b.N; i++ {
		runPendingBench(b, n, os.Getenv("AUTHD_BENCH_STORE"))
	}
}

func runPendingBench(b *testing.B, n int, storeKind string) {
	holdGoroutines := os.Getenv("AUTHD_BENCH_HOLD") == "goroutine"
	var kv store.KV
	if storeKind == "memory" {
		kv = memstore.New()
	} else {
		st, err := boltstore.Open(filepath.Join(b.TempDir(), "authd.db"), boltstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		kv = st
	}
	cfg, diags := dsl.LoadSources(map[string][]byte{"b.hcl": []byte(benchHCL)}, b.TempDir(), dsl.Options{})
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := engine.New(engine.Options{KV: kv, Log: log})
	eng.Load(cfg.Program)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	svc, err := push.New(eng, kv, cfg, log, push.WithPublicURL(srv.URL))
	if err != nil {
		b.Fatal(err)
	}
	mux.Handle("/api/v1/push/", svc.Handler())

	// One poll device per user, written straight to the store.
	ds := devices.New(kv)
	accounts := make([]*authenticator.Account, n)
	load.Parallel(n, 16, func(i int) {
		key, _ := wire.NewKey()
		der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
		user := fmt.Sprintf("u%05d", i)
		e := &devices.Enrollment{ID: devices.NewID(12), Realm: "corp", User: user, Mode: devices.MultipleDevices,
			Providers: map[string]string{"poll": "poll"}, Expires: time.Now().Add(time.Hour), State: devices.EnrollPending}
		if err := ds.CreateEnrollment(e); err != nil {
			b.Error(err)
			return
		}
		d := &devices.Device{ID: devices.NewID(12), Platform: "poll", Provider: "poll", PublicKey: der, ServerURL: srv.URL}
		if _, _, err := ds.CompleteEnrollment(e.ID, time.Now(), func(*devices.Enrollment) error { return nil }, d); err != nil {
			b.Error(err)
			return
		}
		pk, _ := x509.MarshalPKCS8PrivateKey(key)
		accounts[i] = &authenticator.Account{Server: srv.URL, Realm: "corp", User: user, DeviceID: d.ID, Key: base64.StdEncoding.EncodeToString(pk)}
	})
	if b.Failed() {
		return
	}

	// 10,000 logins, each suspended at push_wait with its push pending,
	// each held by a goroutine on the wake channel.
	ctx := context.Background()
	type held struct {
		session  string
		number   int
		resumed  chan time.Time
		ready    chan struct{}
		failures int
	}
	hs := make([]*held, n)
	start := time.Now()
	load.Parallel(n, 64, func(i int) {
		resp, err := eng.Start(ctx, "corp", "push", engine.Request{Protocol: "api"})
		if err != nil {
			b.Error(err)
			return
		}
		v := accounts[i].User
		resp, err = resumeRetry(ctx, eng, resp.Session, []engine.Callback{{ID: "username", Value: &v}})
		if err != nil || resp.Node != "wait" {
			b.Errorf("login %d: %+v %v", i, resp, err)
			return
		}
		h := &held{session: resp.Session, resumed: make(chan time.Time, 1), ready: make(chan struct{})}
		for _, cb := range resp.Callbacks {
			if cb.ChallengeNumber > 0 {
				h.number = cb.ChallengeNumber
			}
		}
		hs[i] = h
		resume := func() {
			empty := ""
			r, err := resumeRetry(ctx, eng, h.session, []engine.Callback{{ID: "wait", Value: &empty}})
			if err != nil || !r.Done || r.Outcome != engine.Success {
				b.Errorf("resume %s: %+v %v", h.session[:6], r, err)
			}
			h.resumed <- time.Now()
		}
		if holdGoroutines {
			go func() {
				wake := eng.WakeChan(h.session)
				close(h.ready)
				<-wake
				resume()
			}()
		} else {
			eng.Park(h.session, time.Hour, func(bool) { resume() })
			close(h.ready)
		}
	})
	if b.Failed() {
		return
	}
	for _, h := range hs {
		<-h.ready
	}
	setup := time.Since(start)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss := rssBytes()

	// The devices fetch their push and answer, AUTHD_BENCH_C (default 4)
	// at a time.
	conc := 4
	if v := os.Getenv("AUTHD_BENCH_C"); v != "" {
		conc, _ = strconv.Atoi(v)
	}
	// AUTHD_BENCH_RATE > 0 starts that many answers a second instead,
	// whatever the ones before them are doing (an open loop: users tap
	// their phones independently).
	rate, _ := strconv.Atoi(os.Getenv("AUTHD_BENCH_RATE"))
	answerAll := func(f func(int)) { load.Parallel(n, conc, f) }
	if rate > 0 {
		answerAll = func(f func(int)) { load.OpenLoop(n, rate, f) }
	}
	client := &authenticator.Client{HTTP: srv.Client()}
	lat := make([]time.Duration, n)
	profile := os.Getenv("AUTHD_BENCH_MEMPROFILE")
	writeHeapProfile(b, profile, ".before")
	answerStart := time.Now()
	answerAll(func(i int) {
		a := accounts[i]
		ps, err := client.Pending(ctx, a, 0)
		if err != nil || len(ps) != 1 {
			b.Errorf("pending %d: %d %v", i, len(ps), err)
			return
		}
		t0 := time.Now()
		if _, err := client.Respond(ctx, a, ps[0], authenticator.Answer{Approve: true, Number: hs[i].number}); err != nil {
			b.Errorf("respond %d: %v", i, err)
			return
		}
		lat[i] = (<-hs[i].resumed).Sub(t0)
	})
	total := time.Since(answerStart)
	writeHeapProfile(b, profile, ".after")
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
	b.ReportMetric(float64(rss)/(1<<20), "rss-MB")
	answering := fmt.Sprintf("%d at a time", conc)
	if rate > 0 {
		answering = fmt.Sprintf("%d/s (open loop)", rate)
	}
	b.Logf("store=%s answering=%s pending=%d setup=%v heap_inuse=%.1fMB sys=%.1fMB rss=%.1fMB goroutines=%d answers=%v (%.0f/s) answer→resumed p50=%v p90=%v p99=%v max=%v",
		orDefault(storeKind, "bbolt"), answering, n, setup.Round(time.Millisecond), float64(ms.HeapInuse)/(1<<20), float64(ms.Sys)/(1<<20), float64(rss)/(1<<20),
		runtime.NumGoroutine(), total.Round(time.Millisecond), float64(n)/total.Seconds(), pct(0.5), pct(0.9), pct(0.99), lat[len(lat)-1])
}

// writeHeapProfile writes the heap profile to path+suffix when path is
// set: AUTHD_BENCH_MEMPROFILE=p writes p.before and p.after around the
// answers, so that "go tool pprof -sample_index=alloc_space -base
// p.before p.after" shows what the answers alone allocate (run with
// -memprofilerate 4096 for a finer sample).
func writeHeapProfile(b *testing.B, path, suffix string) {
	if path == "" {
		return
	}
	f, err := os.Create(path + suffix)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// resumeRetry resumes, retrying a busy session (a concurrent writer).
func resumeRetry(ctx context.Context, eng *engine.Engine, id string, cbs []engine.Callback) (*engine.Response, error) {
	for i := 0; ; i++ {
		r, err := eng.Resume(ctx, id, cbs, engine.Request{Protocol: "api"})
		if err != nil && i < 10 && strings.Contains(err.Error(), "another request") {
			time.Sleep(time.Millisecond)
			continue
		}
		return r, err
	}
}

// rssBytes reads VmRSS from /proc (0 elsewhere).
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
