#!/usr/bin/env bash
# cpu.sh WORKLOAD: a fresh cluster, 3 s of warm-up, then an 8 s run; prints
# its throughput and the nodes' CPU time (user + system, all three nodes)
# per acknowledged transaction. The window also covers the run's connects,
# prepares and final data check (small, and alike for any A/B). Fails, with
# the workload's output on stderr, if a run or its data check fails. The
# cluster is left running.
set -euo pipefail
source "$(dirname "$0")/common.sh"
dir=$(dirname "$0")
w=${1:?usage: $0 write|read|bank}
"$dir/cluster.sh" >/dev/null
if ! warm=$("$dir/run.sh" "$w" 3 2>&1); then
    printf 'warm-up failed:\n%s\n' "$warm" >&2
    exit 1
fi
pids=$(node_pids)
ticks() { for p in $pids; do awk '{print $14 + $15}' "/proc/$p/stat"; done | awk '{t += $1} END {print t}'; }
before=$(ticks)
if ! full=$("$dir/run.sh" "$w" 8 --no-setup 2>&1); then
    printf 'measured run failed:\n%s\n' "$full" >&2
    exit 1
fi
after=$(ticks)
out=$(grep throughput <<<"$full")
ok=$(sed 's/.*ok=\([0-9]*\).*/\1/' <<<"$out")
tp=$(sed 's/throughput=\([0-9]*\).*/\1/' <<<"$out")
echo "$w txn/s=$tp cpu_ms_per_txn=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$ok" 'BEGIN {printf "%.3f", t * 1000 / hz / n}')"
