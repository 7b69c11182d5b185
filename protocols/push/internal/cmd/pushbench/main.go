// Command pushbench measures push MFA against a separate `authd run`
// process on loopback, as docs/benchmarks.md reports it: the memory
// (RSS) of authd while N logins wait on a pending push, and the time
// from a device's answer to the held login's reply.
//
//	make bench-push                      # builds bin/authd, runs this
//	go run ./protocols/push/internal/cmd/pushbench -authd bin/authd [-n 10000] [-c 4]
//
// Steps: one poll device per user is written straight into a fresh bbolt
// store (the enrolment protocol is tested elsewhere; 10,000 of them would
// only measure ECDSA); authd starts on that store with a journey
// username → push_sender → push_wait → push_result_verifier; N logins
// are driven to the wait over the journey API; RSS is read from
// /proc/PID/status with the logins not held (a web page that polls), then
// with every login held by a long poll (?wait=30s, re-issued when it
// ends: one open connection each); then the devices fetch and answer, c
// at a time, and each answer's time to its login's reply is recorded.
//
// With -steady the logins arrive and are answered continuously instead,
// about n pending at any time (steady.go). With -frontend radius the
// logins are Access-Requests instead (radius.go),
// sent from ten loopback NAS addresses and held by authd until the push
// is answered; the time is from the device's answer to the Access-Accept.
package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/authd/authd/engine/devices"
	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/protocols/push/authenticator"
	"github.com/authd/authd/protocols/push/internal/load"
	"github.com/authd/authd/protocols/push/wire"
)

// Targets of issue 4.
const (
	targetRSSMB = 150
	targetP99ms = 5
)

const configHCL = `server {
  http {
    listen     = %q
    public_url = "http://%s"
  }%s
}
realm "corp" {
  enrollment_mode = "multiple_devices"
  push_providers  = [push_provider.poll]
}
push_provider "poll" "poll" {}
`

// pushJourney is the journey every login runs: a user name, a push of
// pushType, the wait for its answer.
func pushJourney(name, pushType string) string {
	return fmt.Sprintf(`journey %q {
  realm           = realm.corp
  start           = node.who
  session_timeout = "30m"
  node "username" "who" { next = node.push }
  node "push_sender" "push" {
    push_type       = %q
    message_timeout = "20m"
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
`, name, pushType)
}

func main() {
	bin := flag.String("authd", "bin/authd", "the authd binary to run")
	n := flag.Int("n", 10_000, "logins waiting on a push at once")
	conc := flag.Int("c", 4, "devices answering at a time")
	keep := flag.Bool("keep", false, "keep the temporary directory")
	openRate := flag.Int("open-rate", 1000, "long polls opened per second (0: all at once)")
	rate := flag.Int("rate", 0, "answers started per second, open loop (0: -c at a time, closed loop)")
	heldRead := flag.Duration("held-read", 28*time.Second, "when to read authd's RSS with the polls held, after the first opened (past 30s the polls re-issue meanwhile)")
	steady := flag.Bool("steady", false, "steady state: logins arrive at -rate a second and are answered after about n/rate seconds, so about n are pending at once (steady.go); 3n logins in all")
	latencyCSV := flag.String("latency-csv", "", "write each answer's send time (ms from the first) and latency to this CSV file")
	frontend := flag.String("frontend", "api", `how the logins wait: "api" (journey API long polls) or "radius" (Access-Requests held until the push is answered, from ten NAS addresses of 1,000 each)`)
	memoryLimit := flag.Int("memory-limit", 0, "run authd in a memory cgroup of its own limited to this many MB, as a container would (cgroup.go; needs root); 0: no limit")
	authdEnvFlag := flag.String("authd-env", "", `environment for authd alone, space-separated NAME=VALUE pairs (say "GOGC=200 GOMAXPROCS=1"), to measure runtime settings without changing this load generator's`)
	clientGC := flag.String("client-gc", "limit", `this load generator's own garbage collector: "limit" collects only near a 4 GiB heap (8 GiB with -steady), so its pauses stay out of authd's figures; "default" is Go's GOGC=100 (authd runs with its own defaults, or what -authd-env sets)`)
	flag.Parse()
	switch *clientGC {
	case "limit":
		// pushbench holds 10,000 client connections, each with its
		// goroutine and buffers, on the same two CPUs as authd. With Go's
		// default it collects every few hundred milliseconds, and a
		// login's reply that lands during a mark phase is timestamped
		// late: the client's pause, not authd's latency. A run allocates
		// about 2 GB, so a 4 GiB limit means no collection. A -steady run
		// allocates about 5 GB: at 4 GiB its one collection stalled the
		// replies of one moment by up to 260 ms, so it gets 8 GiB.
		limit := int64(4 << 30)
		if *steady {
			limit = 8 << 30
		}
		debug.SetGCPercent(-1)
		debug.SetMemoryLimit(limit)
	case "default":
	default:
		log.Fatalf("pushbench: -client-gc must be limit or default, not %q", *clientGC)
	}
	authdEnv, authdMemoryLimit = strings.Fields(*authdEnvFlag), *memoryLimit
	if err := run(*bin, *n, *conc, *openRate, *rate, *keep, *clientGC, *heldRead, *frontend, *latencyCSV, *steady); err != nil {
		log.Fatal("pushbench: ", err)
	}
}

var (
	// authdEnv is -authd-env: added to authd's environment only.
	authdEnv []string
	// authdMemoryLimit is -memory-limit, in MB, and authdCgroup the
	// cgroup that holds authd to it.
	authdMemoryLimit int
	authdCgroup      *memoryCgroup
)

type login struct {
	user    string
	session string
	number  int
	ended   chan time.Time
	outcome atomic.Value
}

type apiReply struct {
	Session   string `json:"session"`
	Node      string `json:"node"`
	Outcome   string `json:"outcome"`
	Error     string `json:"error"`
	Callbacks []struct {
		ID              string `json:"id"`
		Type            string `json:"type"`
		ChallengeNumber int    `json:"challenge_number"`
	} `json:"callbacks"`
}

func run(bin string, n, conc, openRate, rate int, keep bool, clientGC string, heldRead time.Duration, frontend, latencyCSV string, steady bool) error {
	if steady && (rate <= 0 || frontend != "api") {
		return fmt.Errorf("-steady needs -rate and the api front end")
	}
	if frontend != "api" && frontend != "radius" {
		return fmt.Errorf("-frontend must be api or radius, not %q", frontend)
	}
	if frontend == "radius" && n > radiusNASes*radiusHeldPerNAS {
		return fmt.Errorf("-frontend radius holds at most %d (%d NAS addresses of %d)", radiusNASes*radiusHeldPerNAS, radiusNASes, radiusHeldPerNAS)
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("no authd binary (make build): %w", err)
	}
	dir, err := os.MkdirTemp("", "pushbench-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	addr, err := freeAddr("tcp")
	if err != nil {
		return err
	}
	base := "http://" + addr
	radiusBlock, radiusHCL, radiusAddr := "", "", ""
	if frontend == "radius" {
		if radiusAddr, err = freeAddr("udp"); err != nil {
			return err
		}
		radiusBlock, radiusHCL = radiusConfig(radiusAddr)
	}
	if err := os.WriteFile(filepath.Join(dir, "authd.hcl"), fmt.Appendf([]byte(nil), configHCL+pushJourney("push", "challenge")+radiusHCL, addr, addr, radiusBlock), 0o600); err != nil {
		return err
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	load0, _ := os.ReadFile("/proc/loadavg")
	answering := fmt.Sprintf("%d answering at a time", conc)
	if rate > 0 {
		answering = fmt.Sprintf("answers arriving at %d/s", rate)
	}
	fmt.Printf("pushbench: %d logins over %s, held from %d/s on (0: all at once), %s, %d CPUs, client GC %s, authd env %q; load average before: %s\n", n, frontend, openRate, answering, runtime.NumCPU(), clientGC, authdEnv, strings.TrimSpace(string(load0)))

	t0 := time.Now()
	users := n
	if steady {
		users = 3 * n
	}
	accounts, err := writeDevices(filepath.Join(data, "authd.db"), base, users)
	if err != nil {
		return err
	}
	fmt.Printf("  %d devices written to the store in %v\n", users, time.Since(t0).Round(time.Millisecond))

	args := []string{"run", "-config", dir, "-data", data, "-rate-limit-ip", "0", "-rate-limit-user", "0", "-log-level", "error"}
	cmd := exec.Command(bin, args...)
	if authdMemoryLimit > 0 {
		cg, err := newMemoryCgroup(authdMemoryLimit)
		if err != nil {
			return err
		}
		defer cg.remove() // after the deferred stop below has waited for authd
		if err := dropCache(filepath.Join(data, "authd.db")); err != nil {
			return err
		}
		cmd, authdCgroup = cg.command(bin, args...), cg
		fmt.Printf("  authd runs in memory cgroup %s, limited to %d MB\n", cg.dir, authdMemoryLimit)
	}
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	cmd.Env = append(append(os.Environ(), radiusSecretEnv+"="+radiusSecret), authdEnv...)
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	pid := cmd.Process.Pid
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: users + 256, MaxIdleConnsPerHost: users + 256, IdleConnTimeout: 5 * time.Minute}}
	if err := waitUp(hc, base); err != nil {
		return err
	}
	rss, hwm := rssOf(pid)
	fmt.Printf("  authd pid %d up at %s: RSS %.1f MB\n", pid, base, rss)

	if steady {
		before, _ := goMetrics(base)
		began := time.Now()
		r, err := (&steadyLoad{hc: hc, base: base, accounts: accounts, pid: pid, n: n, rate: rate}).run()
		if err != nil {
			return err
		}
		after, _ := goMetrics(base)
		return report(measured{lat: r.lat, at: r.at, answered: len(accounts), took: time.Since(began), before: before, after: after,
			hwm: r.hwm, rssHeld: r.rss, frontend: "api (steady)"}, latencyCSV)
	}
	var (
		logins           []*login
		holding          sync.WaitGroup
		rssIdle, rssHeld float64
	)
	if frontend == "radius" {
		logins, rssHeld, err = holdRADIUS(radiusAddr, accounts, pid, base, openRate, heldRead, &holding)
	} else {
		logins, rssIdle, rssHeld, err = holdAPI(hc, base, accounts, pid, openRate, heldRead, &holding)
	}
	if err != nil {
		return err
	}

	// The devices answer, conc at a time, or (rate > 0) rate a second
	// whatever the answers before them are doing: users tap their phones
	// independently, so an open loop is the load a real server sees.
	client := &authenticator.Client{HTTP: hc}
	before, _ := goMetrics(base)
	lat := make([]time.Duration, n)
	at := make([]time.Duration, n) // when each answer was sent, from the first
	var bad atomic.Int64
	t0 = time.Now()
	answerAll := func(f func(int)) { load.Parallel(n, conc, f) }
	if rate > 0 {
		answerAll = func(f func(int)) { load.OpenLoop(n, rate, f) }
	}
	answerAll(func(i int) {
		sent, took, err := answer(client, accounts[i], logins[i])
		if err != nil {
			bad.Add(1)
			log.Printf("login %d: %v", i, err)
			return
		}
		lat[i], at[i] = took, sent.Sub(t0)
	})
	total := time.Since(t0)
	after, _ := goMetrics(base)
	holding.Wait()
	_, hwm = rssOf(pid)
	if bad.Load() > 0 {
		return fmt.Errorf("%d answers failed", bad.Load())
	}
	return report(measured{lat: lat, at: at, answered: n, took: total, before: before, after: after,
		hwm: hwm, rssIdle: rssIdle, rssHeld: rssHeld, frontend: frontend}, latencyCSV)
}

// holdAPI drives a login per account to the push wait over the journey
// API, reads authd's RSS (the logins not held), then holds every login
// with a long poll, opened at openRate a second, re-issued as each ends,
// and reads RSS again heldRead after the first opened. Each login's ended
// hears when its poll returned with an outcome.
func holdAPI(hc *http.Client, base string, accounts []*authenticator.Account, pid, openRate int, heldRead time.Duration, holding *sync.WaitGroup) (logins []*login, rssIdle, rssHeld float64, err error) {
	// N logins to the wait.
	n := len(accounts)
	logins = make([]*login, n)
	t0 := time.Now()
	var failed atomic.Int64
	load.Parallel(n, 32, func(i int) {
		l, err := startLogin(hc, base, accounts[i].User)
		if err != nil {
			if failed.Add(1) == 1 {
				log.Printf("login %d: %v", i, err)
			}
			return
		}
		logins[i] = l
	})
	if failed.Load() > 0 {
		return nil, 0, 0, fmt.Errorf("%d logins did not reach the wait", failed.Load())
	}
	setup := time.Since(t0)
	time.Sleep(2 * time.Second) // let the heap settle before reading RSS
	rssIdle, _ = rssOf(pid)
	fmt.Printf("  %d logins waiting on a pending push in %v (%.0f/s); authd RSS %.1f MB (not held: %s); %s\n", n, setup.Round(time.Millisecond), float64(n)/setup.Seconds(), rssIdle, rssSplit(pid), goMemory(base))

	// Every login held by a long poll, opened at openRate a second (0: all
	// at once): users start logins over time, not in one instant.
	var inFlight atomic.Int64
	var tick <-chan time.Time
	if openRate > 0 {
		t := time.NewTicker(time.Second / time.Duration(openRate))
		defer t.Stop()
		tick = t.C
	}
	opening := time.Now()
	for _, l := range logins {
		if tick != nil {
			<-tick
		}
		holding.Add(1)
		go func() {
			defer holding.Done()
			l.hold(hc, base, &inFlight)
		}()
	}
	opened := time.Since(opening)
	time.Sleep(5 * time.Second)
	rssBurst, hwmHeld := rssOf(pid)
	fmt.Printf("  %d long polls opened in %v; authd RSS %.1f MB held, 5 s later (peak so far %.1f MB); %s\n", inFlight.Load(), opened.Round(time.Millisecond), rssBurst, hwmHeld, goMemory(base))
	// Opening them left garbage the runtime frees and returns to the
	// system over the next seconds; the held figure is read once that
	// settled, by default before the first 30 s polls end and re-issue.
	time.Sleep(max(time.Second, heldRead-5*time.Second-opened))
	rssHeld, _ = rssOf(pid)
	fmt.Printf("  %d long polls open; authd RSS %.1f MB held, %v after the first opened (%s); %s\n", inFlight.Load(), rssHeld, time.Since(opening).Round(time.Second), rssSplit(pid), goMemory(base))

	return logins, rssIdle, rssHeld, nil
}

// measured is what one run found, for report.
type measured struct {
	lat, at          []time.Duration // the timed answers, and when each was sent
	answered         int             // answers in all (for the rate and the allocation per answer)
	took             time.Duration   // while they ran
	before, after    map[string]float64
	hwm              float64
	rssIdle, rssHeld float64
	frontend         string
}

// report prints the figures of m (and writes its latencies to
// latencyCSV when set).
func report(m measured, latencyCSV string) error {
	lat, at, n, total, before, after, hwm, rssIdle, rssHeld, frontend := m.lat, m.at, m.answered, m.took, m.before, m.after, m.hwm, m.rssIdle, m.rssHeld, m.frontend
	if latencyCSV != "" {
		var b strings.Builder
		b.WriteString("sent_ms,latency_ms\n")
		for i := range lat {
			fmt.Fprintf(&b, "%.3f,%.3f\n", float64(at[i].Microseconds())/1000, float64(lat[i].Microseconds())/1000)
		}
		if err := os.WriteFile(latencyCSV, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
	load1, _ := os.ReadFile("/proc/loadavg")
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	fmt.Printf("  %d answers in %v (%.0f/s), %d timed: answer → resumed reply p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		n, total.Round(time.Millisecond), float64(n)/total.Seconds(), len(lat), ms(pct(.5)), ms(pct(.9)), ms(pct(.99)), ms(lat[len(lat)-1]))
	var cms runtime.MemStats
	runtime.ReadMemStats(&cms)
	// What authd's collector did while the answers ran: every cycle's
	// mark phase slows the requests it overlaps.
	delta := func(k string) float64 { return after[k] - before[k] }
	per := "per answer (re-polls included)"
	if strings.HasSuffix(frontend, "(steady)") {
		per = "per login (its start, polls and answer)"
	}
	cpu := delta("process_cpu_seconds_total")
	fmt.Printf("  authd while answering: %.0f GC cycles, %.1f KB allocated %s, CPU %.1f s (%.0f%% of one CPU)\n",
		delta("go_gc_duration_seconds_count"), delta("go_memstats_alloc_bytes_total")/float64(n)/1024, per, cpu, 100*cpu/total.Seconds())
	fmt.Printf("  authd peak RSS (VmHWM) %.1f MB; load average after: %s; pushbench itself: %d GC cycles, %.1f GB allocated\n",
		hwm, strings.TrimSpace(string(load1)), cms.NumGC, float64(cms.TotalAlloc)/(1<<30))
	limited := ""
	if authdCgroup != nil {
		line, ooms, err := authdCgroup.report()
		if err != nil {
			return err
		}
		fmt.Printf("  authd's memory cgroup (limit %d MB): %s\n", authdMemoryLimit, line)
		limited = fmt.Sprintf(" memory_limit=%dMB oom_kills=%d", authdMemoryLimit, ooms)
	}
	notHeld := "n/a" // a held Access-Request has no unheld state to measure
	if frontend == "api" {
		notHeld = fmt.Sprintf("%.1fMB (ratio %.2f)", rssIdle, rssIdle/targetRSSMB)
	}
	fmt.Printf("result: frontend=%s rss_not_held=%s rss_held=%.1fMB (target < %d MB: ratio %.2f) p50=%.2fms p99=%.2fms (target < %d ms: ratio %.2f)%s\n",
		frontend, notHeld, rssHeld, targetRSSMB, rssHeld/targetRSSMB, ms(pct(.5)), ms(pct(.99)), targetP99ms, ms(pct(.99))/targetP99ms, limited)
	return nil
}

// answer is the device of login l answering its push: it fetches the
// push, approves it (with the number shown, for a challenge) and waits for
// the login's reply. It returns when the answer was sent and how long the
// reply took from then.
func answer(client *authenticator.Client, a *authenticator.Account, l *login) (sent time.Time, took time.Duration, err error) {
	ps, err := client.Pending(context.Background(), a, 0)
	if err != nil || len(ps) != 1 {
		return sent, 0, fmt.Errorf("pending: %d pushes, %v", len(ps), err)
	}
	sent = time.Now()
	if _, err := client.Respond(context.Background(), a, ps[0], authenticator.Answer{Approve: true, Number: l.number}); err != nil {
		return sent, 0, fmt.Errorf("respond: %w", err)
	}
	took = (<-l.ended).Sub(sent)
	if o, _ := l.outcome.Load().(string); o != "success" {
		return sent, took, fmt.Errorf("ended %q", o)
	}
	return sent, took, nil
}

// startLogin drives a login for user to the push wait over the journey
// API.
func startLogin(hc *http.Client, base, user string) (*login, error) {
	l := &login{user: user, ended: make(chan time.Time, 1)}
	r, err := post(hc, base, "", map[string]any{})
	if err == nil {
		r, err = post(hc, base, "", map[string]any{"session": r.Session, "callbacks": []map[string]string{{"id": "username", "value": l.user}}})
	}
	if err != nil {
		return nil, err
	}
	if r.Node != "wait" {
		return nil, fmt.Errorf("at %q, not the wait", r.Node)
	}
	l.session = r.Session
	for _, c := range r.Callbacks {
		if c.ChallengeNumber > 0 {
			l.number = c.ChallengeNumber
		}
	}
	return l, nil
}

// hold long-polls the login (?wait=30s, again each time a poll ends
// without an answer) until its journey ends, then tells l.ended when,
// with the outcome in l.outcome. inFlight counts the polls open.
func (l *login) hold(hc *http.Client, base string, inFlight *atomic.Int64) {
	for {
		inFlight.Add(1)
		r, err := post(hc, base, "?wait=30s", map[string]any{"session": l.session, "callbacks": []map[string]string{}})
		inFlight.Add(-1)
		if err == nil && r.Node == "wait" && r.Outcome == "" {
			continue // the hold ended without an answer: hold again
		}
		at := time.Now()
		if err != nil {
			l.outcome.Store("error: " + err.Error())
		} else {
			l.outcome.Store(r.Outcome)
		}
		l.ended <- at
		return
	}
}

// writeDevices enrols one poll device per user straight into the store.
func writeDevices(path, base string, n int) ([]*authenticator.Account, error) {
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	ds := devices.New(st)
	accounts := make([]*authenticator.Account, n)
	var firstErr atomic.Value
	load.Parallel(n, 32, func(i int) {
		key, err := wire.NewKey()
		if err != nil {
			firstErr.CompareAndSwap(nil, err)
			return
		}
		der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
		user := fmt.Sprintf("u%05d", i)
		e := &devices.Enrollment{ID: devices.NewID(12), Realm: "corp", User: user, Mode: devices.MultipleDevices,
			Providers: map[string]string{"poll": "poll"}, Expires: time.Now().Add(time.Hour), State: devices.EnrollPending}
		d := &devices.Device{ID: devices.NewID(12), Platform: "poll", Provider: "poll", PublicKey: der, ServerURL: base}
		if err := ds.CreateEnrollment(e); err != nil {
			firstErr.CompareAndSwap(nil, err)
			return
		}
		if _, _, err := ds.CompleteEnrollment(e.ID, time.Now(), func(*devices.Enrollment) error { return nil }, d); err != nil {
			firstErr.CompareAndSwap(nil, err)
			return
		}
		pk, _ := x509.MarshalPKCS8PrivateKey(key)
		accounts[i] = &authenticator.Account{Server: base, Realm: "corp", User: user, DeviceID: d.ID, Key: base64.StdEncoding.EncodeToString(pk)}
	})
	if err, _ := firstErr.Load().(error); err != nil {
		return nil, fmt.Errorf("writing devices: %w", err)
	}
	return accounts, nil
}

func post(hc *http.Client, base, query string, body any) (*apiReply, error) {
	b, _ := json.Marshal(body)
	resp, err := hc.Post(base+"/api/v1/realms/corp/journeys/push/authenticate"+query, "application/json", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r apiReply
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, raw)
	}
	if r.Error != "" {
		return &r, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, raw)
	}
	return &r, nil
}

func waitUp(hc *http.Client, base string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := post(hc, base, "", map[string]any{}); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("authd did not answer within 30 s")
}

// freeAddr returns a loopback address of network ("tcp" or "udp") that
// nothing listens on.
func freeAddr(network string) (string, error) {
	if network == "udp" {
		c, err := net.ListenPacket(network, "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		defer c.Close()
		return c.LocalAddr().String(), nil
	}
	l, err := net.Listen(network, "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// goMemory sums up where authd's Go memory is, from its /metrics: the
// goroutine stacks and the heap in use, and how many goroutines hold them.
func goMemory(base string) string {
	v, err := goMetrics(base)
	if err != nil {
		return "no /metrics: " + err.Error()
	}
	mb := func(k string) float64 { return v[k] / (1 << 20) }
	return fmt.Sprintf("Go: %.0f goroutines, stacks %.1f MB, heap in use %.1f MB, runtime total %.1f MB",
		v["go_goroutines"], mb("go_memstats_stack_inuse_bytes"), mb("go_memstats_heap_inuse_bytes"), mb("go_memstats_sys_bytes"))
}

// goMetrics reads authd's /metrics samples without labels.
func goMetrics(base string) (map[string]float64, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	v := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		name, val, ok := strings.Cut(line, " ")
		if ok && !strings.HasPrefix(name, "#") {
			v[name], _ = strconv.ParseFloat(val, 64)
		}
	}
	return v, nil
}

// rssSplit says how much of pid's RSS is private memory and how much is
// mapped files (the binary, the bbolt file's pages read so far, which the
// kernel can drop and reread).
func rssSplit(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ""
	}
	v := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		k, val, ok := strings.Cut(line, ":")
		if ok {
			v[k], _ = strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 64)
		}
	}
	store, binary := mappedRSS(pid)
	charged := ""
	if authdCgroup != nil {
		charged = fmt.Sprintf("; its memory cgroup is charged %.1f MB", authdCgroup.usage())
	}
	return fmt.Sprintf("private %.1f MB + files %.1f MB: store %.1f, binary %.1f%s", v["RssAnon"]/1024, v["RssFile"]/1024, store, binary, charged)
}

// mappedRSS reads from /proc/pid/smaps how many MB of pid's RSS are pages
// of its bbolt store and of its own executable, the two files authd maps.
func mappedRSS(pid int) (store, binary float64) {
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return 0, 0
	}
	var into *float64
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		switch {
		case len(fields) >= 5 && strings.Contains(fields[0], "-"): // a mapping's header
			into = nil
			if path := fields[len(fields)-1]; len(fields) >= 6 && path == exe {
				into = &binary
			} else if len(fields) >= 6 && strings.HasSuffix(path, "/authd.db") {
				into = &store
			}
		case len(fields) == 3 && fields[0] == "Rss:" && into != nil:
			kb, _ := strconv.ParseFloat(fields[1], 64)
			*into += kb / 1024
		}
	}
	return store, binary
}

// rssOf reads VmRSS and VmHWM (peak) of pid, in MB.
func rssOf(pid int) (rss, hwm float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		switch k {
		case "VmRSS":
			rss = kb / 1024
		case "VmHWM":
			hwm = kb / 1024
		}
	}
	return rss, hwm
}
