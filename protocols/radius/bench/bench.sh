#!/usr/bin/env bash
# make bench-radius: authd's RADIUS front end against FreeRADIUS 3.2 from
# Debian, side by side in one run on loopback, under the same load.
#
#   no-hash          a user accepted without a password check (FreeRADIUS:
#                    Auth-Type := Accept), twice for authd: the issue's
#                    username -> condition -> success and credentials ->
#                    condition -> success; both nodes take the PAP
#                    credentials without suspending, so neither writes to
#                    the store
#   sha512-crypt PAP the same $6$ hash in both (FreeRADIUS: Crypt-Password;
#                    authd: credentials -> password_check, an imported user)
#
# Load: radclient -p $P (the reference client), then a Go load generator
# with the same concurrency, because radclient itself tops out first.
# FreeRADIUS runs in the foreground without -X (debug would slow it).
# Everything stays on 127.0.0.1; every loop is bounded.
set -euo pipefail

N_NOHASH=${N_NOHASH:-20000}
N_CRYPT=${N_CRYPT:-2000}
N_LOAD=${N_LOAD:-50000}
P=${P:-64}
SECRET=testing123
FR_PORT=${FR_PORT:-18120}
AUTHD_PORT=${AUTHD_PORT:-18121}

cd "$(dirname "$0")/../../.."   # repository root
if ! command -v freeradius >/dev/null || ! command -v radclient >/dev/null; then
  echo "installing: freeradius freeradius-utils"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends freeradius freeradius-utils >/dev/null
fi
for cmd in freeradius radclient openssl go; do
  command -v "$cmd" >/dev/null || { echo "bench-radius needs $cmd" >&2; exit 1; }
done

tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

hash=$(openssl passwd -6 -salt "$(openssl rand -hex 8)" benchpass)

# --- FreeRADIUS: files + pap, client 127.0.0.1, Debian's thread pool defaults.
mkdir -p "$tmp/fr/log" "$tmp/fr/run"
printf 'nohash\tAuth-Type := Accept\nnohash-c\tAuth-Type := Accept\ncrypt\tCrypt-Password := "%s"\n' "$hash" > "$tmp/fr/users"
cat > "$tmp/fr/radiusd.conf" <<CONF
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
raddbdir = $tmp/fr
confdir = \${raddbdir}
modconfdir = \${confdir}/mods-config
logdir = \${raddbdir}/log
run_dir = \${raddbdir}/run
db_dir = \${raddbdir}
radacctdir = \${logdir}/radacct
libdir = /usr/lib/freeradius
pidfile = \${run_dir}/radiusd.pid
name = radiusd
max_request_time = 30
cleanup_delay = 5
max_requests = 131072
hostname_lookups = no
log {
	destination = files
	file = \${logdir}/radius.log
	auth = no
}
security {
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 0
	status_server = yes
}
thread pool {
	start_servers = 5
	max_servers = 32
	min_spare_servers = 3
	max_spare_servers = 10
	max_requests_per_server = 0
	auto_limit_acct = no
}
client localhost {
	ipaddr = 127.0.0.1
	secret = $SECRET
}
modules {
	files {
		filename = \${confdir}/users
	}
	pap {
		normalise = yes
	}
}
server default {
	listen {
		type = auth
		ipaddr = 127.0.0.1
		port = $FR_PORT
	}
	authorize {
		files
		pap
	}
	authenticate {
		Auth-Type PAP {
			pap
		}
	}
}
CONF
freeradius -f -d "$tmp/fr" -n radiusd >"$tmp/fr/stdout.log" 2>&1 &
pids+=($!)

# --- authd: the same users and journeys (see bench/authd/main.go).
go build -tags radiusbench -o "$tmp/authd-bench" ./protocols/radius/bench/authd
go build -tags radiusbench -o "$tmp/load" ./protocols/radius/bench/load
mkdir -p "$tmp/authd"
BENCH_SECRET=$SECRET "$tmp/authd-bench" -listen "127.0.0.1:$AUTHD_PORT" -data "$tmp/authd" -hash "$hash" 2>"$tmp/authd/stderr.log" &
pids+=($!)

# radclient wants a user dictionary in its raddb; the main one holds every vendor.
mkdir -p "$tmp/raddb" && echo '# empty' > "$tmp/raddb/dictionary"
rc() { radclient -d "$tmp/raddb" "$@"; }

ready() { # port
  for _ in $(seq 1 50); do
    if echo 'User-Name = nohash, User-Password = x, Message-Authenticator = 0x00' |
      rc -q -r 1 -t 0.2 "127.0.0.1:$1" auth "$SECRET" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "server on port $1 did not come up" >&2
  cat "$tmp/fr/stdout.log" "$tmp/authd/stderr.log" >&2
  exit 1
}
ready "$FR_PORT"
ready "$AUTHD_PORT"

requests() { # user password count
  for _ in $(seq 1 "$3"); do printf 'User-Name = %s, User-Password = %s, Message-Authenticator = 0x00\n\n' "$1" "$2"; done
}
requests nohash x "$N_NOHASH" > "$tmp/nohash.txt"
requests nohash-c x "$N_NOHASH" > "$tmp/nohash-c.txt"
requests crypt benchpass "$N_CRYPT" > "$tmp/crypt.txt"
requests nohash x 500 > "$tmp/warm.txt"
requests crypt benchpass 100 > "$tmp/warm-crypt.txt"

# radclient_rps port file count -> requests/s (all must be accepted)
radclient_rps() {
  local start end out accepted
  start=$(date +%s.%N)
  out=$(rc -q -s -r 3 -t 5 -p "$P" -f "$2" "127.0.0.1:$1" auth "$SECRET" 2>&1 || true)
  end=$(date +%s.%N)
  accepted=$(awk '/Accepted/ {print $3}' <<<"$out")
  if [ "${accepted:-0}" != "$3" ]; then echo "port $1: accepted ${accepted:-0} of $3" >&2; echo "$out" >&2; exit 1; fi
  awk -v n="$3" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", n / (e - s) }'
}
# load_rps port user password count -> requests/s
load_rps() {
  local out
  out=$("$tmp/load" -server "127.0.0.1:$1" -secret "$SECRET" -user "$2" -pass "$3" -n "$4" -p "$P")
  awk -v n="$4" '{ if ($4 != n) { print "accepted " $4 " of " n > "/dev/stderr"; exit 1 } printf "%.0f", $NF }' <<<"$out"
}
ratio() { awk -v a="$1" -v f="$2" 'BEGIN { printf "%.2f", a / f }'; }

# Warm both up (thread pools, page cache, and on authd's side the dummy
# hash of unknown users, made on first use) before measuring.
for port in "$FR_PORT" "$AUTHD_PORT"; do
  radclient_rps "$port" "$tmp/warm.txt" 500 >/dev/null
  radclient_rps "$port" "$tmp/warm-crypt.txt" 100 >/dev/null
done

echo "RADIUS benchmark: $(nproc) CPUs, load -p $P, loopback; FreeRADIUS $(freeradius -v 2>/dev/null | awk '/Version/ { for (i = 1; i < NF; i++) if ($i == "Version") { print $(i+1); exit } }' | tr -d ,) vs authd $(git describe --always --dirty 2>/dev/null || echo dev)"
printf '%-34s %-10s %12s %12s %7s\n' scenario load FreeRADIUS authd ratio
row() { # scenario load fr authd
  printf '%-34s %-10s %10s/s %10s/s %7s\n' "$1" "$2" "$3" "$4" "$(ratio "$4" "$3")"
}
for v in "nohash:no-hash (username->condition)" "nohash-c:no-hash (credentials->condition)"; do
  user=${v%%:*} name=${v#*:}
  fr=$(radclient_rps "$FR_PORT" "$tmp/$user.txt" "$N_NOHASH"); au=$(radclient_rps "$AUTHD_PORT" "$tmp/$user.txt" "$N_NOHASH")
  row "$name" radclient "$fr" "$au"
  fr=$(load_rps "$FR_PORT" "$user" x "$N_LOAD"); au=$(load_rps "$AUTHD_PORT" "$user" x "$N_LOAD")
  row "$name" go-load "$fr" "$au"
done
fr=$(radclient_rps "$FR_PORT" "$tmp/crypt.txt" "$N_CRYPT"); au=$(radclient_rps "$AUTHD_PORT" "$tmp/crypt.txt" "$N_CRYPT")
row "sha512-crypt PAP" radclient "$fr" "$au"
fr=$(load_rps "$FR_PORT" crypt benchpass "$N_CRYPT"); au=$(load_rps "$AUTHD_PORT" crypt benchpass "$N_CRYPT")
row "sha512-crypt PAP" go-load "$fr" "$au"
