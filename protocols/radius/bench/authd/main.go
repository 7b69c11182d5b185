//go:build radiusbench

// Command authd runs authd's RADIUS front end on its own for `make
// bench-radius`: the real store (bbolt), node types and configuration
// language, one sha512-crypt user, and two journeys. It is built only with
// the radiusbench tag.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/authd/authd/dsl"
	"github.com/authd/authd/engine"
	"github.com/authd/authd/engine/store/boltstore"
	"github.com/authd/authd/engine/users"
	_ "github.com/authd/authd/nodes"
	"github.com/authd/authd/protocols/radius"
)

// The no-hash journeys are username -> condition -> success (as the issue
// names it) and credentials -> condition -> success; both nodes take the
// PAP credentials without suspending, so neither writes to the store. The
// crypt journey is credentials -> password_check against an imported $6$
// user.
const config = `
server {
  radius {
    listen = "%s"
  }
}
realm "corp" {
  display_name = "Bench"
}
journey "nohash" {
  realm = realm.corp
  start = node.user
  node "username" "user" { next = node.known }
  node "condition" "known" {
    when     = user.name == "nohash"
    outcomes = { true = success, false = failure }
  }
}
journey "nohash_credentials" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.known }
  node "condition" "known" {
    when     = user.name == "nohash-c"
    outcomes = { true = success, false = failure }
  }
}
journey "crypt" {
  realm = realm.corp
  start = node.login
  node "credentials" "login" { next = node.check }
  node "password_check" "check" {
    outcomes = { success = success, failure = failure, locked = failure }
  }
}
radius_client "bench" {
  address = "127.0.0.1"
  secret  = env("BENCH_SECRET")
}
radius_policy "nohash" {
  clients = [radius_client.bench]
  realm   = realm.corp
  journey = journey.nohash
  when    = user.name == "nohash"
}
radius_policy "nohash_credentials" {
  clients = [radius_client.bench]
  realm   = realm.corp
  journey = journey.nohash_credentials
  when    = user.name == "nohash-c"
}
radius_policy "crypt" {
  clients = [radius_client.bench]
  realm   = realm.corp
  journey = journey.crypt
}
`

func main() {
	listen := flag.String("listen", "127.0.0.1:18121", "RADIUS listen address")
	data := flag.String("data", "", "data directory (required)")
	hash := flag.String("hash", "", "sha512-crypt hash of user \"crypt\" (required)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile here until the server stops")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *data == "" || *hash == "" {
		fmt.Fprintln(os.Stderr, "usage: authd -data DIR -hash '$6$...' [-listen ADDR]; BENCH_SECRET in the environment")
		os.Exit(2)
	}
	if err := run(*listen, *data, *hash); err != nil {
		fmt.Fprintln(os.Stderr, "authd bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(listen, data, hash string) error {
	cfg, diags := dsl.LoadSources(map[string][]byte{"bench.hcl": []byte(fmt.Sprintf(config, listen))}, "", dsl.Options{RequireEnv: true})
	if diags.HasErrors() {
		return diags
	}
	kv, err := boltstore.Open(filepath.Join(data, "authd.db"), boltstore.Options{})
	if err != nil {
		return err
	}
	defer kv.Close()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	eng := engine.New(engine.Options{KV: kv, Log: log})
	eng.Load(cfg.Program)
	if err := eng.Services().Users.Create(&users.User{Realm: "corp", Name: "crypt", PasswordHash: hash}); err != nil {
		return err
	}
	srv, err := radius.New(radius.FromDSL(cfg), radius.Options{Engine: eng, Log: log})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.ListenAndServe(); err != radius.ErrServerClosed {
		return err
	}
	return nil
}
