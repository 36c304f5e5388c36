# Shared settings of the cluster benchmark scripts (sourced, not run).
#
# QUORUMDB_BIN   the node binary       (default: target/release/quorumdb)
# WORKLOAD_BIN   the workload binary   (default: target/release/workload)
# BENCH_DIR      nodes' data and logs  (default: /tmp/quorumdb-bench; wiped
#                by every start, so its last part must begin with
#                "quorumdb-bench")
# NODE_FLAGS     extra `quorumdb start` flags for every node (default:
#                "--worker-threads W" with W = CPUs / 3, at least 1: three
#                nodes share this machine, and docs/operations.md tells
#                operators to split the CPUs between such nodes, as
#                `quorumdb demo` does; NODE_FLAGS="" gives each node one
#                worker per CPU)
# CLIENTS        workload clients      (default: 16)
#
# Nodes listen on loopback: SQL 45431-45433, gRPC 47431-47433, HTTP
# 48431-48433. Node 1 initialises the cluster; 2 and 3 join through it.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
QUORUMDB_BIN=${QUORUMDB_BIN:-$ROOT/target/release/quorumdb}
WORKLOAD_BIN=${WORKLOAD_BIN:-$ROOT/target/release/workload}
BENCH_DIR=${BENCH_DIR:-/tmp/quorumdb-bench}
SHARED_WORKERS=$(( $(nproc) / 3 > 0 ? $(nproc) / 3 : 1 ))
NODE_FLAGS=${NODE_FLAGS-"--worker-threads $SHARED_WORKERS"}
CLIENTS=${CLIENTS:-16}
case "$(basename "$BENCH_DIR")" in
quorumdb-bench*) ;;
*) echo "BENCH_DIR=$BENCH_DIR: its last part must begin with quorumdb-bench (it is wiped)" >&2; exit 2 ;;
esac
URLS=(--url 'host=127.0.0.1 port=45431 user=root'
      --url 'host=127.0.0.1 port=45432 user=root'
      --url 'host=127.0.0.1 port=45433 user=root')

# The pids of this benchmark's nodes: this user's processes whose command
# line names a data directory under BENCH_DIR (regex characters escaped).
node_pids() {
    local dir
    dir=$(printf '%s' "$BENCH_DIR" | sed 's/[][\\.^$*+?(){}|]/\\&/g')
    pgrep -u "$(id -u)" -f -- "--data-dir $dir/n[0-9]" || true
}
