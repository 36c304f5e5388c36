# Shared settings of the cluster benchmark scripts (sourced, not run).
#
# QUORUMDB_BIN   the node binary       (default: target/release/quorumdb)
# WORKLOAD_BIN   the workload binary   (default: target/release/workload)
# BENCH_DIR      nodes' data and logs  (default: /tmp/quorumdb-bench)
# NODE_FLAGS     extra `quorumdb start` flags for every node, e.g.
#                "--worker-threads 1"
# CLIENTS        workload clients      (default: 16)
#
# Nodes listen on loopback: SQL 45431-45433, gRPC 47431-47433, HTTP
# 48431-48433. Node 1 initialises the cluster; 2 and 3 join through it.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
QUORUMDB_BIN=${QUORUMDB_BIN:-$ROOT/target/release/quorumdb}
WORKLOAD_BIN=${WORKLOAD_BIN:-$ROOT/target/release/workload}
BENCH_DIR=${BENCH_DIR:-/tmp/quorumdb-bench}
NODE_FLAGS=${NODE_FLAGS:-}
CLIENTS=${CLIENTS:-16}
URLS=(--url 'host=127.0.0.1 port=45431 user=root'
      --url 'host=127.0.0.1 port=45432 user=root'
      --url 'host=127.0.0.1 port=45433 user=root')

# The pids of this benchmark's nodes (matched by their data directories).
node_pids() {
    pgrep -f -- "--data-dir $BENCH_DIR/n[0-9]" || true
}
