#!/usr/bin/env bash
# full.sh [ROUNDS]: write, read and bank, 10 s each, a fresh cluster per
# run; prints one line per run (throughput, latencies, the data check).
set -euo pipefail
dir=$(dirname "$0")
for _ in $(seq "${1:-1}"); do
    for w in write read bank; do
        "$dir/cluster.sh" >/dev/null
        # A failed data check is reported in its line and ends the script.
        status=0
        out=$("$dir/run.sh" "$w" 10 2>&1) || status=$?
        echo "$(date -u +%H:%M) $w $(grep -E 'throughput|check' <<<"$out" | tr '\n' ' ')"
        if [ "$status" != 0 ]; then
            printf '%s run failed (exit %s):\n%s\n' "$w" "$status" "$out" >&2
            "$dir/cluster.sh" stop
            exit 1
        fi
    done
done
"$dir/cluster.sh" stop
