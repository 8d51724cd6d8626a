#!/usr/bin/env bash
# Benchmarks (not tests): they print figures and never fail on a timing.
#
#   bash scripts/bench.sh parse     agentd's parser vs promtool check metrics, one core
#   bash scripts/bench.sh wal       WAL append/read, bytes/sample (synthetic + real node-exporter bodies)
#   bash scripts/bench.sh cluster   membership simulator and ring
#   bash scripts/bench.sh replay    remote-write encode/send, first sample on a 1 GiB WAL, replay into Prometheus
#   bash scripts/bench.sh versus    agentd vs Prometheus agent mode vs vmagent (see bench/versus.py --help)
#   bash scripts/bench.sh million   the same at one million series (500 targets × 2,000 series at 10 s)
#   bash scripts/bench.sh ingest    the highest samples/s each agent keeps up with, into a counting sink, from
#                                   targets served by agentd-bench (INGEST_RATES=… to choose the rates)
#   bash scripts/bench.sh outage    agentd's memory during a 10-minute receiver outage at 100,000 samples/s
#   bash scripts/bench.sh delivery  the cursor file's cost per million samples; a 2-minute outage's recovery time
#   bash scripts/bench.sh stages    the hot path's stages alone (scrape, append, handoff, encode): CPU per sample, one core,
#                                   then instructions per sample (bench/callgrind.py)
#   bash scripts/bench.sh callgrind the stages' instructions per sample alone
#   bash scripts/bench.sh layout    rewrite link/agentd.order (the code a running agent executes, for the
#                                   release link's layout; bench/link_order.py), relink, and print the
#                                   agent's memory at 100,000 samples/s, anonymous and file-backed
#   bash scripts/bench.sh resident  the idle agent's RSS, and which modules' code its resident .text pages hold
#                                   (bench/resident_code.py --cold; root, for /proc/PID/pagemap and drop_caches)
#
# Release binaries are built in .build-release (never the shared debug .build). Every process
# started here listens on a free 127.0.0.1 port, lives in a temporary directory, and is stopped
# by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
which="${1:-wal}"
shift || true
scratch="$root/.build-release"
bench_bin="$scratch/release/agentd-bench"
agentd_bin="$scratch/release/agentd"

build() {
    local product
    for product in "$@"; do
        AGENTD_RELEASE_SCRATCH="$scratch" bash scripts/build-release.sh "$product" >/tmp/agentd-bench-build.log 2>&1 || {
            tail -40 /tmp/agentd-bench-build.log
            exit 1
        }
    done
}

pids=()
work=$(mktemp -d /tmp/agentd-bench.XXXXXX)
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() { # url seconds
    local deadline=$((SECONDS + $2))
    until curl -sf -o /dev/null "$1"; do
        [ $SECONDS -lt $deadline ] || { echo "timed out waiting for $1" >&2; return 1; }
        sleep 0.2
    done
}

# capture_node_exporter DIR COUNT: COUNT bodies of a real node exporter, 1 s apart.
capture_node_exporter() {
    local dir=$1 count=$2 port pid i
    mkdir -p "$dir"
    port=$(free_port)
    prometheus-node-exporter --web.listen-address="127.0.0.1:$port" >"$work/node-exporter.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    wait_http "http://127.0.0.1:$port/metrics" 20
    for i in $(seq -w 1 "$count"); do
        curl -sf -o "$dir/capture-$i.prom" "http://127.0.0.1:$port/metrics"
        sleep 1
    done
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    echo "captured $count node-exporter bodies ($(cat "$dir"/*.prom | wc -c) bytes) into $dir"
}

# start_receiver NAME: a Prometheus with the remote-write receiver; sets receiver_port.
start_receiver() {
    local name=$1
    receiver_port=$(free_port)
    mkdir -p "$work/$name"
    printf 'global:\n  scrape_interval: 15s\n' >"$work/$name/prometheus.yml"
    prometheus --config.file="$work/$name/prometheus.yml" --storage.tsdb.path="$work/$name/data" \
        --web.listen-address="127.0.0.1:$receiver_port" --web.enable-remote-write-receiver \
        >"$work/$name/log" 2>&1 &
    pids+=("$!")
    wait_http "http://127.0.0.1:$receiver_port/-/ready" 60
}

metric() { # url name: the sum of a metric's samples in a /metrics page
    curl -sf "$1" | awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $NF } END { printf "%.0f\n", s }'
}

case "$which" in
parse)
    build agentd-bench
    synthetic="$work/synthetic-long-labels.prom"
    fixture=Tests/ScrapeTests/Fixtures/node_exporter.prom
    echo "== agentd ExpositionParser, one core (taskset -c 0), best of 20 runs in one process"
    taskset -c 0 "$bench_bin" parse --write-synthetic "$synthetic" "$fixture" 20 "$@"
    echo
    echo "== the same bodies through promtool (Prometheus $(promtool --version 2>&1 | awk 'NR==1{print $3}'))"
    python3 bench/promtool_bench.py --runs 7 --cpu 0 "$fixture" "$synthetic"
    ;;
wal)
    build agentd-bench
    capture_node_exporter "$work/captures" "${WAL_CAPTURES:-20}"
    "$bench_bin" wal --captures "$work/captures" "$@"
    ;;
cluster)
    build agentd-bench
    "$bench_bin" cluster "$@"
    ;;
stages)
    build agentd-bench
    echo "== one core (taskset -c 1), five runs; compare the best, the machine's load moves the rest"
    for run in 1 2 3 4 5; do taskset -c 1 "$bench_bin" stages --iterations 500 "$@"; done
    echo "== instructions per sample (callgrind; does not move with the machine's load)"
    python3 bench/callgrind.py --bench "$bench_bin"
    ;;
callgrind)
    build agentd-bench
    python3 bench/callgrind.py --bench "$bench_bin" "$@"
    ;;
delivery)
    build agentd-bench agentd
    "$bench_bin" delivery
    python3 bench/outage.py --agentd "$agentd_bin" --outage "${DELIVERY_OUTAGE:-120}" --after "${DELIVERY_AFTER:-240}" --step 30
    ;;
replay)
    build agentd-bench agentd
    capture_node_exporter "$work/captures" 10
    echo
    echo "== (a) encode + send, one core (taskset -c 0: encoder, HTTP client and sink share it)"
    taskset -c 0 "$bench_bin" replay --only encode --captures "$work/captures"
    echo
    echo "== (b) first sample on a ${REPLAY_WAL_GIB:-1} GiB WAL"
    "$bench_bin" replay --only first-sample --wal-gib "${REPLAY_WAL_GIB:-1}" --keep "$work/replay-root" \
        | tee "$work/first-sample.log"
    for window in 5M 1H; do
        since=$(sed -n "s/.*REPLAY_SINCE_$window=//p" "$work/first-sample.log")
        echo "  agentd replay --since $since (last $window) --storage.path …, as a process:"
        python3 bench/first_line.py --runs 5 -- "$agentd_bin" replay --since "$since" \
            --storage.path "$work/replay-root" | sed 's/^/    /'
    done
    rm -rf "$work/replay-root"
    echo
    echo "== (c) replay into a real Prometheus"
    start_receiver receiver
    "$bench_bin" replay --only receiver --receiver "http://127.0.0.1:$receiver_port/api/v1/write"
    echo "  receiver: prometheus_tsdb_head_samples_appended_total =" \
        "$(metric "http://127.0.0.1:$receiver_port/metrics" prometheus_tsdb_head_samples_appended_total)," \
        "prometheus_tsdb_head_series = $(metric "http://127.0.0.1:$receiver_port/metrics" prometheus_tsdb_head_series)"
    ;;
versus)
    build agentd
    python3 bench/versus.py --agentd "$agentd_bin" --work "$work" "$@"
    ;;
million)
    build agentd
    python3 bench/versus.py --agentd "$agentd_bin" --work "$work" --loads synthetic --targets 500 --series 2000 \
        --interval 10 --warmup 30 "$@"
    ;;
ingest)
    build agentd agentd-bench
    python3 bench/versus.py --agentd "$agentd_bin" --work "$work" --sink "$bench_bin" --target-server "$bench_bin" \
        --max-ingest "${INGEST_RATES:-300000,400000,500000,600000,700000,800000,900000,1000000}" --warmup 20 --duration 30 "$@"
    ;;
outage)
    build agentd
    python3 bench/outage.py --agentd "$agentd_bin" "$@"
    ;;
layout)
    build agentd agentd-bench
    python3 bench/link_order.py --agentd "$agentd_bin" --bench "$bench_bin" "$@"
    # SwiftPM does not see the order file as an input of the link: remove the binary to relink.
    rm -f "$agentd_bin"
    build agentd
    python3 bench/versus.py --agentd "$agentd_bin" --work "$work" --sink "$bench_bin" --target-server "$bench_bin" \
        --agents agentd --loads synthetic --runs 1 --duration 30 --warmup 15
    ;;
resident)
    build agentd
    python3 bench/resident_code.py --agentd "$agentd_bin" --cold "$@"
    ;;
*)
    echo "unknown benchmark: $which (try: parse, wal, cluster, replay, versus, million, ingest, outage, delivery, stages, callgrind, layout, resident)"
    exit 2
    ;;
esac
