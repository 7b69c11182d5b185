#!/usr/bin/env bash
# make bench-push-ab BASE=path/to/other/authd: two builds of authd under the
# same push load (pushbench, with PUSHBENCH_FLAGS), run in alternation
# RUNS times each (default 3), so that the machine's drift over the runs
# hits both alike. Prints every run's result line, then per build the p99
# of its runs, sorted, and their median.
#
# Why: on a shared VM single runs of the same build spread by about
# ±1.5 ms at p99 (docs/benchmarks.md); a change is worth a claim only when
# the medians of alternated runs differ by more than that spread.
#
#   git worktree add /tmp/base <commit> && (cd /tmp/base && go build -o /tmp/authd-base ./cmd/authd)
#   make bench-push-ab BASE=/tmp/authd-base PUSHBENCH_FLAGS="-rate 200" RUNS=5
set -euo pipefail

BASE=${BASE:?set BASE to the other authd binary}
NEW=${NEW:-bin/authd}
RUNS=${RUNS:-3}
read -r -a FLAGS <<<"${PUSHBENCH_FLAGS:-}"

cd "$(dirname "$0")/../../.."   # repository root
declare -A bin=([base]=$BASE [new]=$NEW)
for which in base new; do
  [[ -x ${bin[$which]} ]] || { echo "ab.sh: ${bin[$which]} is not an executable authd" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/pushbench" ./protocols/push/internal/cmd/pushbench

for ((i = 1; i <= RUNS; i++)); do
  for which in base new; do
    line=$("$tmp/pushbench" -authd "${bin[$which]}" "${FLAGS[@]}" | grep '^result:') ||
      { echo "ab.sh: pushbench on ${bin[$which]} printed no result" >&2; exit 1; }
    echo "run $i ${bin[$which]}: $line"
    sed -n 's/.* p99=\([0-9.]*\)ms.*/\1/p' <<<"$line" >>"$tmp/$which"
  done
done

for which in base new; do
  sort -n "$tmp/$which" | awk -v name="${bin[$which]}" '
    { v[NR] = $1; all = all (NR > 1 ? " " : "") $1 }
    END {
      med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%s: p99 %s ms; median %.2f ms over %d runs\n", name, all, med, NR
    }'
done
