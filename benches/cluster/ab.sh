#!/usr/bin/env bash
# ab.sh PAIRS WORKLOAD: alternates cpu.sh runs of configuration A and B,
# PAIRS times, so that drift in the machine's speed hits both alike.
# A and B are QUORUMDB_BIN / NODE_FLAGS pairs: A_BIN, A_FLAGS, B_BIN,
# B_FLAGS (each defaulting to QUORUMDB_BIN and to common.sh's NODE_FLAGS;
# an empty A_FLAGS or B_FLAGS means no flags).
set -euo pipefail
source "$(dirname "$0")/common.sh"
dir=$(dirname "$0")
pairs=${1:?usage: $0 PAIRS write|read|bank}
w=${2:?usage: $0 PAIRS write|read|bank}
# Stops at the first failed run (cpu.sh prints why).
for _ in $(seq "$pairs"); do
    a=$(QUORUMDB_BIN=${A_BIN:-$QUORUMDB_BIN} NODE_FLAGS=${A_FLAGS-$NODE_FLAGS} "$dir/cpu.sh" "$w")
    echo "A $a"
    b=$(QUORUMDB_BIN=${B_BIN:-$QUORUMDB_BIN} NODE_FLAGS=${B_FLAGS-$NODE_FLAGS} "$dir/cpu.sh" "$w")
    echo "B $b"
done
"$dir/cluster.sh" stop
