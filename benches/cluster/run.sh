#!/usr/bin/env bash
# run.sh WORKLOAD SECONDS [workload flags...]: the workload generator with
# $CLIENTS clients spread over the three nodes of cluster.sh.
set -euo pipefail
source "$(dirname "$0")/common.sh"
[ $# -ge 2 ] || { echo "usage: $0 write|read|bank SECONDS [flags]" >&2; exit 2; }
[ -x "$WORKLOAD_BIN" ] || { echo "no binary at $WORKLOAD_BIN (cargo build --release -p quorumdb-bench)" >&2; exit 1; }
workload=$1 seconds=$2
shift 2
exec "$WORKLOAD_BIN" --workload "$workload" --clients "$CLIENTS" --duration "$seconds" "${URLS[@]}" "$@"
