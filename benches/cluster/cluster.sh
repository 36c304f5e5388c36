#!/usr/bin/env bash
# cluster.sh [start|stop]: start a fresh 3-node cluster on loopback (wiping
# the previous one), wait until all three are voters; or stop it.
# Settings: see common.sh.
set -euo pipefail
source "$(dirname "$0")/common.sh"

stop() {
    local pids
    pids=$(node_pids)
    [ -z "$pids" ] && return 0
    kill $pids 2>/dev/null || true
    for _ in $(seq 50); do
        [ -z "$(node_pids)" ] && return 0
        sleep 0.1
    done
    kill -9 $(node_pids) 2>/dev/null || true
}

# healthy N: polls node N's /health for up to 30 s, giving up early if
# the node's process has exited.
healthy() {
    for _ in $(seq 300); do
        curl -sf "http://127.0.0.1:4843$1/health" >/dev/null && return 0
        kill -0 "${pids[$1]}" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

case "${1:-start}" in
stop) stop; exit 0 ;;
start) ;;
*) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac

[ -x "$QUORUMDB_BIN" ] || { echo "no binary at $QUORUMDB_BIN (cargo build --release -p quorumdb-cli -p quorumdb-bench)" >&2; exit 1; }
stop
rm -rf "$BENCH_DIR"
mkdir -p "$BENCH_DIR"
pids=()
for i in 1 2 3; do
    args=(start --id "$i" --data-dir "$BENCH_DIR/n$i" --sql-addr "127.0.0.1:4543$i"
          --grpc-addr "127.0.0.1:4743$i" --http-addr "127.0.0.1:4843$i")
    [ "$i" != 1 ] && args+=(--join 127.0.0.1:47431)
    # shellcheck disable=SC2206 # NODE_FLAGS is a list of flags
    args+=($NODE_FLAGS)
    QUORUMDB_LOG=${QUORUMDB_LOG:-warn} nohup "$QUORUMDB_BIN" "${args[@]}" >"$BENCH_DIR/n$i.log" 2>&1 &
    pids[i]=$!
    # Node 1 initialises the cluster; the others join through it.
    if [ "$i" = 1 ] && ! healthy 1; then
        echo "node 1 did not become healthy within 30 s: see $BENCH_DIR/n1.log" >&2
        stop
        exit 1
    fi
done
for i in 2 3; do
    healthy "$i" || { echo "node $i did not become healthy within 30 s: see $BENCH_DIR/n$i.log" >&2; stop; exit 1; }
done
voters=
for _ in $(seq 600); do
    voters=$(curl -s http://127.0.0.1:48431/metrics | awk '$1 == "quorumdb_raft_voters" {print $2}') || voters=
    [ "$voters" = 3 ] && break
    sleep 0.1
done
if [ "$voters" != 3 ]; then
    echo "the cluster did not reach 3 voters within 60 s (logs in $BENCH_DIR)" >&2
    stop
    exit 1
fi
echo "3 voters; SQL on 127.0.0.1:45431-45433, data in $BENCH_DIR"
