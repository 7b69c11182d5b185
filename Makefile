# authd — build, run and test. `make run` and `make test` are the two commands
# a new engineer needs; everything else is a part of them.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/authd
PKGS  := ./...
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# FUZZTIME, when set (e.g. 10m or 1000000x), overrides every target's budget.
FUZZTIME ?=
# package:FuzzTarget:budget, run briefly by `make test`. The budgets are
# execution counts (each about 15 s on a 2-vCPU VM), not durations: with a
# duration, Go's fuzz coordinator can fail a clean run with "context deadline
# exceeded" when a worker is mid-call as the time runs out (golang/go#75804,
# fixed in Go 1.27); a count has no deadline to race.
FUZZ_TARGETS := dsl:FuzzLoad:20000x protocols/api:FuzzAuthenticate:40000x protocols/radius:FuzzHandlePacket:30000x protocols/push/wire:FuzzParse:1000000x protocols/oauth:FuzzTokenEndpoint:60000x protocols/oauth:FuzzSessionUnmarshalBinary:60000x

.PHONY: all build run test tools fmt-check vet unit race fuzz bench clean scenarios

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/authd

# Build and start the quick start on its embedded default config, with a
# demo user printed once. Data lives in ./data.
run: build
	./$(BIN) run -data data

# Everything CI runs. Installs what it needs when absent.
test: tools fmt-check vet race fuzz scenarios
	@echo "make test: all checks passed"

tools:
	@bash .ci/install-tools

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test $(PKGS)

race:
	@rm -rf test-artifacts/node-suites
	$(GO) test -race -count=1 -timeout 25m $(PKGS)
	@# The Node suites (openid-client, Chromium) run inside go test, which
	@# hides a passing test's output: show each suite's closing line.
	@for f in test-artifacts/node-suites/*.log; do [ -f "$$f" ] || continue; \
	  echo "node suite $$(basename "$$f" .log):"; grep -E '^[0-9]+ passed, [0-9]+ failed$$' "$$f" | tail -1 || true; done

# The journey scenarios (*.authtest.hcl) of every example directory, run by
# the binary as users run them (docs/testing.md).
scenarios: build
	@set -e; for d in examples/*/; do \
	  compgen -G "$$d*.hcl" | grep -qv '\.authtest\.hcl$$' || continue; \
	  ./$(BIN) test -cover "$${d%/}"; \
	done

# A short run of every fuzz target, so a regression in input handling is
# caught by CI (longer runs: make fuzz FUZZTIME=10m).
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=./$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; budget=$${rest#*:}; \
	  budget=$(if $(FUZZTIME),$(FUZZTIME),$$budget); \
	  echo "fuzz $$name in $$pkg for $$budget"; \
	  $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $$budget $$pkg; \
	done

# Benchmarks whose figures are recorded in docs/benchmarks.md.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./engine/ ./dsl/

clean:
	rm -rf bin

# RADIUS throughput against FreeRADIUS 3.2 from Debian, side by side on
# loopback (figures in docs/benchmarks.md); installs freeradius when absent.
.PHONY: bench-radius
bench-radius:
	bash protocols/radius/bench/bench.sh

# OAuth token endpoint throughput (client credentials with stored ES256 JWTs,
# introspection, code exchanges) from a separate process on loopback, with
# server CPU profiles in test-artifacts/oauth-bench (figures in
# docs/benchmarks.md).
.PHONY: bench-oauth
bench-oauth:
	$(GO) run ./protocols/oauth/internal/cmd/oauthbench

# Push MFA under load: N logins (default 10,000) waiting on a push against
# a separate `authd run` process on loopback; prints authd's RSS (not held,
# and held by long polls) and the answer → resumed reply p50/p99 (figures
# in docs/benchmarks.md). PUSHBENCH_FLAGS="-n 3000 -c 4" changes the load;
# "-steady -rate 200" runs the steady state; "-memory-limit 150" holds authd
# to a memory cgroup of 150 MB, as a container would (needs root).
.PHONY: bench-push
bench-push: build
	$(GO) run ./protocols/push/internal/cmd/pushbench -authd $(BIN) $(PUSHBENCH_FLAGS)

# The same load on two builds of authd, alternated RUNS times (3 by
# default), with each build's median p99: BASE=path to the other build.
# Single runs on a shared VM spread too much to compare (see
# protocols/push/bench/ab.sh).
.PHONY: bench-push-ab
bench-push-ab: build
	BASE="$(BASE)" NEW=$(BIN) RUNS="$(RUNS)" PUSHBENCH_FLAGS="$(PUSHBENCH_FLAGS)" bash protocols/push/bench/ab.sh
