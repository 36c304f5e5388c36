#!/usr/bin/env bash
# run.sh WORKLOAD SECONDS [workload flags...]: the workload generator with
# $CLIENTS clients spread over the three nodes of cluster.sh.
set -euo pipefail
source "$(dirname "$0")/common.sh"
[ $# -ge 2 ] || { echo "usage: $0 write|read|bank SECONDS [flags]" >&2; exit 2; }
workload=$1 seconds=$2
shift 2
exec "$WORKLOAD_BIN" --workload "$workload" --clients "$CLIENTS" --duration "$seconds" "${URLS[@]}" "$@"
