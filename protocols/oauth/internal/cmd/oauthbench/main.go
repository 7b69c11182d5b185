// Command oauthbench measures the token endpoint from a separate process on
// loopback, as docs/benchmarks.md reports it: client-credentials grants per
// second with stored ES256 JWT access tokens, introspections per second,
// and authorization-code exchanges per second, with a CPU profile of the
// server for each phase.
//
//	go run ./protocols/oauth/internal/cmd/oauthbench [-c 32] [-d 10s]
//
// It starts itself with -serve as the server (the oauthtest fixture on a
// bbolt store in a temporary directory, with /debug/pprof), then drives it
// over HTTP. Profiles go to test-artifacts/oauth-bench/.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/pprof"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/authd/authd/protocols/oauth/internal/oauthtest"
)

func main() {
	serve := flag.Bool("serve", false, "run the server side (used by the benchmark itself)")
	conc := flag.Int("c", 128, "concurrent connections for the write phases (grants, exchanges): a group commit grows with them")
	readConc := flag.Int("cr", 32, "concurrent connections for the read phases (introspection)")
	dur := flag.Duration("d", 10*time.Second, "duration of each phase")
	codes := flag.Int("codes", 4000, "authorization codes to prepare for the exchange phase")
	out := flag.String("out", "test-artifacts/oauth-bench", "where profiles go")
	mem := flag.Bool("mem", false, "keep the store in memory (no fsync): the CPU-bound ceiling")
	flag.Parse()
	if *serve {
		runServer(!*mem)
		return
	}
	memStore = *mem
	if err := runBench(*conc, *readConc, *dur, *codes, *out); err != nil {
		log.Fatal(err)
	}
}

var memStore bool

func runServer(bolt bool) {
	fx, err := oauthtest.Start(oauthtest.Options{Bolt: bolt, Extra: func(m *http.ServeMux) {
		m.HandleFunc("/debug/pprof/", pprof.Index)
		m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("listening", fx.URL)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, os.Interrupt)
	<-ch
	fx.Close()
}

func runBench(conc, readConc int, dur time.Duration, ncodes int, outDir string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"-serve"}
	if memStore {
		args = append(args, "-mem")
	}
	srv := exec.Command(self, args...)
	srv.Stderr = os.Stderr
	stdout, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		_ = srv.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fmt.Errorf("server did not start: %w", err)
	}
	base := strings.TrimSpace(strings.TrimPrefix(line, "listening "))
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	st := "bbolt file (fsync per commit)"
	if memStore {
		st = "in-memory store (no fsync)"
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("oauthbench: server pid %d at %s on a %s; load from pid %d; %d CPUs, GOMAXPROCS %d; %d connections for writes, %d for reads, %v per phase; load average before: %s\n",
		srv.Process.Pid, base, st, os.Getpid(), runtime.NumCPU(), runtime.GOMAXPROCS(0), conc, readConc, dur, strings.TrimSpace(string(load)))

	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: conc * 2, MaxIdleConnsPerHost: conc * 2, IdleConnTimeout: time.Minute}}

	// Phase 1: client credentials, stored ES256 JWT access tokens.
	ccForm := url.Values{"grant_type": {"client_credentials"}, "scope": {"orders:read"}}.Encode()
	cc := func(context.Context) error {
		return post(hc, base+"/oauth2/token", "service", oauthtest.ServiceSecret, ccForm, "access_token")
	}
	if err := phase("client_credentials (JWT ES256, stored)", conc, dur, base, outDir, "client-credentials", cc); err != nil {
		return err
	}

	// Phase 2: introspection of a stored JWT and of an opaque token.
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := postJSON(hc, base+"/oauth2/token", "service", oauthtest.ServiceSecret, ccForm, &tok); err != nil {
		return err
	}
	inForm := url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}}.Encode()
	in := func(context.Context) error {
		return post(hc, base+"/oauth2/introspect", "service", oauthtest.ServiceSecret, inForm, `"active":true`)
	}
	if err := phase("introspection (JWT access token)", readConc, dur, base, outDir, "introspection", in); err != nil {
		return err
	}
	var op struct {
		AccessToken string `json:"access_token"`
	}
	opForm := url.Values{"grant_type": {"client_credentials"}}.Encode()
	if err := postJSON(hc, base+"/oauth2/token", "opaque-service", oauthtest.ServiceSecret, opForm, &op); err != nil {
		return err
	}
	inOpaque := url.Values{"token": {op.AccessToken}, "token_type_hint": {"access_token"}}.Encode()
	io2 := func(context.Context) error {
		return post(hc, base+"/oauth2/introspect", "opaque-service", oauthtest.ServiceSecret, inOpaque, `"active":true`)
	}
	if err := phase("introspection (opaque access token)", readConc, dur, base, outDir, "introspection-opaque", io2); err != nil {
		return err
	}

	// Phase 3: authorization code exchanges. One browser logs in once;
	// its SSO session then gets codes without running the journey.
	fmt.Printf("preparing %d authorization codes through the SSO session...\n", ncodes)
	codes, prep, err := prepareCodes(base, ncodes, conc)
	if err != nil {
		return err
	}
	fmt.Printf("  %d codes in %v (%.0f authorizations/s with SSO)\n\n", len(codes), prep.Round(time.Millisecond), float64(len(codes))/prep.Seconds())
	var next atomic.Int64
	ex := func(context.Context) error {
		i := next.Add(1) - 1
		if int(i) >= len(codes) {
			return errDone
		}
		f := url.Values{"grant_type": {"authorization_code"}, "code": {codes[i]}, "redirect_uri": {base + oauthtest.CallbackPath}}.Encode()
		return post(hc, base+"/oauth2/token", "portal", oauthtest.WebSecret, f, "id_token")
	}
	return phase("authorization_code exchange (+ RS256 ID token, refresh token)", conc, dur, base, outDir, "code-exchange", ex)
}

var errDone = errors.New("done")

// phase runs fn from conc workers for dur (or until fn says errDone) while
// profiling the server, and prints the rate, latency and the profile's top.
func phase(name string, conc int, dur time.Duration, base, outDir, file string, fn func(context.Context) error) error {
	profDur := max(dur-time.Second, time.Second)
	profFile := filepath.Join(outDir, file+".pprof")
	var profErr error
	var pwg sync.WaitGroup
	pwg.Add(1)
	go func() {
		defer pwg.Done()
		profErr = fetchProfile(base, profDur, profFile)
	}()
	var (
		ok, fail atomic.Int64
		mu       sync.Mutex
		lat      []time.Duration
		firstErr atomic.Value
	)
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			for ctx.Err() == nil {
				t0 := time.Now()
				err := fn(ctx)
				if errors.Is(err, errDone) {
					cancel()
					break
				}
				if err != nil {
					if ctx.Err() == nil {
						fail.Add(1)
						firstErr.CompareAndSwap(nil, err.Error())
					}
					continue
				}
				ok.Add(1)
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	pwg.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	fmt.Printf("== %s\n   %d ok, %d failed in %v: %.0f/s   latency p50 %v  p99 %v\n",
		name, ok.Load(), fail.Load(), elapsed.Round(time.Millisecond), float64(ok.Load())/elapsed.Seconds(),
		pct(0.5).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond))
	if e := firstErr.Load(); e != nil {
		fmt.Printf("   first error: %s\n", e)
	}
	if profErr != nil {
		fmt.Printf("   (no profile: %v)\n\n", profErr)
		return nil
	}
	top, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=18", profFile).Output()
	if err != nil {
		fmt.Printf("   profile in %s (go tool pprof unavailable: %v)\n\n", profFile, err)
		return nil
	}
	fmt.Printf("   server CPU profile %s:\n", profFile)
	for _, l := range strings.Split(string(top), "\n") {
		if strings.TrimSpace(l) != "" {
			fmt.Printf("   | %s\n", l)
		}
	}
	fmt.Println()
	return nil
}

func fetchProfile(base string, d time.Duration, file string) error {
	resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, int(d.Seconds())))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

func post(hc *http.Client, u, id, secret, form, want string) error {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return fmt.Errorf("%d %.200s", resp.StatusCode, body)
	}
	return nil
}

func postJSON(hc *http.Client, u, id, secret, form string, v any) error {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %d %s", u, resp.StatusCode, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

var (
	reAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	reCSRF   = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// prepareCodes logs in once at "portal" and then collects n codes from the
// browser's SSO session, conc at a time.
func prepareCodes(base string, n, conc int) ([]string, time.Duration, error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2}}
	authURL := base + "/oauth2/authorize?" + url.Values{
		"client_id": {"portal"}, "response_type": {"code"}, "redirect_uri": {base + oauthtest.CallbackPath},
		"scope": {"openid profile"}, "state": {"bench-state-0123"}, "nonce": {"bench-nonce-0123"},
	}.Encode()
	resp, err := hc.Get(authURL)
	if err != nil {
		return nil, 0, err
	}
	resp.Body.Close()
	page, err := hc.Get(base + resp.Header.Get("Location"))
	if err != nil {
		return nil, 0, err
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	a, c := reAction.FindSubmatch(body), reCSRF.FindSubmatch(body)
	if a == nil || c == nil {
		return nil, 0, fmt.Errorf("no login form: %s", body)
	}
	unesc := strings.NewReplacer("&amp;", "&").Replace
	form := url.Values{"csrf": {unesc(string(c[1]))}, "cb_username": {oauthtest.Alice}, "cb_password": {oauthtest.AlicePassword}}
	resp, err = hc.PostForm(base+unesc(string(a[1])), form)
	if err != nil {
		return nil, 0, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return nil, 0, fmt.Errorf("login: %d", resp.StatusCode)
	}
	codes := make([]string, n)
	var next atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if int(i) >= n {
					return
				}
				r, err := hc.Get(authURL)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				r.Body.Close()
				u, err := url.Parse(r.Header.Get("Location"))
				if err != nil || u.Query().Get("code") == "" {
					firstErr.CompareAndSwap(nil, fmt.Errorf("authorize with SSO: %d %q", r.StatusCode, r.Header.Get("Location")))
					return
				}
				codes[i] = u.Query().Get("code")
			}
		}()
	}
	wg.Wait()
	if e, _ := firstErr.Load().(error); e != nil {
		return nil, 0, e
	}
	return codes, time.Since(start), nil
}
