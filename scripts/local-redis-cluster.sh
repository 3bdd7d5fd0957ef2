#!/usr/bin/env bash
# A Redis Cluster on loopback for trying kvd's shared tier and for its benchmarks
# (docs/TIER.md, docs/OPERATIONS.md "Several nodes"): 3 masters with a replica each,
# redis-server + redis-cli --cluster create, no persistence.
#
#   scripts/local-redis-cluster.sh start DIR [FIRST_PORT]   # prints the --remote value
#   scripts/local-redis-cluster.sh stop DIR
#
# FIRST_PORT defaults to 7100 (ports FIRST_PORT … FIRST_PORT+5). Needs Debian's redis-server and
# redis-tools (scripts/setup.sh installs them).
set -euo pipefail

usage() { echo "usage: $0 start DIR [FIRST_PORT] | stop DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
command=$1 dir=$2 first=${3:-7100}

case "$command" in
start)
    command -v redis-server >/dev/null && command -v redis-cli >/dev/null \
        || { echo "redis-server and redis-cli are needed: apt install redis-server redis-tools" >&2; exit 1; }
    mkdir -p "$dir"
    for i in 0 1 2 3 4 5; do
        ! redis-cli -p $((first + i)) ping >/dev/null 2>&1 || { echo "port $((first + i)) is in use (another cluster? see its stop)" >&2; exit 1; }
    done
    ports=()
    for i in 0 1 2 3 4 5; do
        port=$((first + i))
        ports+=("$port")
        redis-server --port "$port" --bind 127.0.0.1 --protected-mode no --daemonize yes \
            --dir "$dir" --cluster-enabled yes --cluster-config-file "nodes-$port.conf" \
            --cluster-node-timeout 5000 --save "" --appendonly no \
            --logfile "$dir/redis-$port.log" --pidfile "$dir/redis-$port.pid"
    done
    for port in "${ports[@]}"; do
        for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    done
    addresses=()
    for port in "${ports[@]}"; do addresses+=("127.0.0.1:$port"); done
    redis-cli --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log"
    for _ in $(seq 300); do
        redis-cli -p "$first" cluster info | grep -q "cluster_state:ok" && break
        sleep 0.1
    done
    redis-cli -p "$first" cluster info | grep -q "cluster_state:ok" || { echo "the cluster did not become ready (see $dir)" >&2; exit 1; }
    (IFS=,; echo "redis://${addresses[*]}")
    ;;
stop)
    for pidfile in "$dir"/redis-*.pid; do
        [ -e "$pidfile" ] || continue
        kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    sleep 0.5
    rm -rf "$dir"
    ;;
*) usage ;;
esac
