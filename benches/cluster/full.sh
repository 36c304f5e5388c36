#!/usr/bin/env bash
# full.sh [ROUNDS]: write, read and bank, 10 s each, a fresh cluster per
# run; prints one line per run (throughput, latencies, the data check).
set -euo pipefail
dir=$(dirname "$0")
for _ in $(seq "${1:-1}"); do
    for w in write read bank; do
        "$dir/cluster.sh" >/dev/null
        echo "$(date -u +%H:%M) $w $("$dir/run.sh" "$w" 10 2>&1 | grep -E 'throughput|check' | tr '\n' ' ')"
    done
done
"$dir/cluster.sh" stop
