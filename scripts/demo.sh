#!/usr/bin/env bash
# The seed scenario on one machine, with real parts:
#   eight prometheus-node-exporters on 127.0.0.1:9101-9108,
#   a Prometheus with its remote-write receiver on 127.0.0.1:9090,
#   two clustered agents: agentd-1 on 127.0.0.1:12345, agentd-2 on 127.0.0.1:12346,
# both running examples/scenario/config.alloy unchanged.
#
#   bash scripts/demo.sh                 install, build (release), start everything, print the URLs
#   bash scripts/demo.sh --tls           the same over TLS: makes a CA and certificates in run/tls with
#                                        openssl; exporters on HTTPS, Prometheus on HTTPS with basic auth,
#                                        the agents gossiping over mutual TLS and running
#                                        examples/scenario/config-tls.alloy (the commands below follow
#                                        the mode the scenario was started in)
#   bash scripts/demo.sh stop-member N   SIGTERM agentd-N (a graceful leave: a planned hand-off)
#   bash scripts/demo.sh kill-member N   SIGKILL agentd-N (a crash: the survivor declares it dead)
#   bash scripts/demo.sh start-member N  start agentd-N again
#   bash scripts/demo.sh status          who is running, and each agent's view of the cluster
#   bash scripts/demo.sh stop            stop exactly what this script started
#
# Logs and data live in run/ (run/logs, run/agentd-N, run/prometheus; run/tls with --tls).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
run_dir="$root/run"
pids="$run_dir/pids"
agentd="$root/.build-release/release/agentd"
config="$root/examples/scenario/config.alloy"
join="127.0.0.1:12345,127.0.0.1:12346"
tls_dir="$run_dir/tls"
mode_file="$run_dir/mode" # "tls" or "plain": how the running scenario was started

# --tls may come anywhere among the arguments; it only chooses the mode of a start.
tls_requested=0
arguments=()
for argument in "$@"; do
    if [ "$argument" = --tls ]; then tls_requested=1; else arguments+=("$argument"); fi
done
set -- ${arguments[@]+"${arguments[@]}"}
tls=0
if [ "${1:-start}" = start ]; then
    tls=$tls_requested
elif [ "$(cat "$mode_file" 2>/dev/null)" = tls ]; then
    tls=1
fi
if [ "$tls" = 1 ]; then config="$root/examples/scenario/config-tls.alloy"; fi

start_process() { # name, command...
    local name="$1"; shift
    if [ -f "$pids/$name" ] && kill -0 "$(cat "$pids/$name")" 2>/dev/null; then
        echo "$name is already running (pid $(cat "$pids/$name"))"; return
    fi
    "$@" >>"$run_dir/logs/$name.log" 2>&1 &
    echo $! >"$pids/$name"
}

start_member() {
    local n="$1" tls_flags=()
    if [ "$tls" = 1 ]; then
        tls_flags=(--cluster.enable-tls=true --cluster.tls-ca-path="$tls_dir/ca.crt"
            --cluster.tls-cert-path="$tls_dir/agentd-$n.crt" --cluster.tls-key-path="$tls_dir/agentd-$n.key")
    fi
    start_process "agentd-$n" "$agentd" run "$config" \
        --server.http.listen-addr="127.0.0.1:1234$((n + 4))" \
        --storage.path="$run_dir/agentd-$n" \
        --cluster.enabled=true --cluster.node-name="agentd-$n" --cluster.join-addresses="$join" \
        ${tls_flags[@]+"${tls_flags[@]}"}
}

# curl to the agents: HTTPS trusting the demo's CA with --tls, plain HTTP otherwise.
agent_url() { if [ "$tls" = 1 ]; then echo "https://127.0.0.1:$1"; else echo "http://127.0.0.1:$1"; fi; }
agent_curl() { if [ "$tls" = 1 ]; then curl --cacert "$tls_dir/ca.crt" "$@"; else curl "$@"; fi; }

# With --tls: a CA, and certificates it signs (EC P-256, for 127.0.0.1 and localhost, usable by
# servers and clients) for each agent, the node exporters and Prometheus; a generated password
# for Prometheus's user "agentd", and the web config files of the exporters and Prometheus.
# Whatever exists already is kept, so a restart keeps the certificates the running members trust.
make_certificates() {
    mkdir -p "$tls_dir"
    chmod 700 "$tls_dir"
    if [ ! -f "$tls_dir/ca.crt" ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$tls_dir/ca.key" -out "$tls_dir/ca.crt" -days 365 -subj "/CN=agentd demo CA" 2>/dev/null
        echo "made a CA: $tls_dir/ca.crt"
    fi
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >"$tls_dir/san.ext"
    local name
    for name in agentd-1 agentd-2 node-exporter prometheus; do
        [ -f "$tls_dir/$name.crt" ] && continue
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$tls_dir/$name.key" -out "$tls_dir/$name.csr" -subj "/CN=$name" 2>/dev/null
        openssl x509 -req -in "$tls_dir/$name.csr" -CA "$tls_dir/ca.crt" -CAkey "$tls_dir/ca.key" \
            -CAcreateserial -out "$tls_dir/$name.crt" -days 90 -extfile "$tls_dir/san.ext" 2>/dev/null
        rm -f "$tls_dir/$name.csr"
        echo "made a certificate: $tls_dir/$name.crt"
    done
    if [ ! -f "$tls_dir/prometheus-web.yml" ]; then
        command -v python3 >/dev/null || { echo "--tls needs python3 (to bcrypt Prometheus's password)"; exit 1; }
        (umask 077; openssl rand -hex 16 >"$tls_dir/prometheus.password")
        # Prometheus keeps bcrypt hashes of its users' passwords (cost 10).
        local hash
        hash=$(python3 -W ignore -c 'import crypt, sys
print(crypt.crypt(sys.stdin.read().strip(), crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024)))' \
            <"$tls_dir/prometheus.password")
        printf "tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  agentd: '%s'\n" \
            "$tls_dir/prometheus.crt" "$tls_dir/prometheus.key" "$hash" >"$tls_dir/prometheus-web.yml"
    fi
    printf 'tls_server_config:\n  cert_file: %s\n  key_file: %s\n' \
        "$tls_dir/node-exporter.crt" "$tls_dir/node-exporter.key" >"$tls_dir/node-exporter-web.yml"
}

anything_running() {
    local file
    for file in "$pids"/*; do
        [ -e "$file" ] && kill -0 "$(cat "$file")" 2>/dev/null && return 0
    done
    return 1
}

signal_member() { # signal, n
    local file="$pids/agentd-$2"
    [ -f "$file" ] || { echo "agentd-$2 is not running"; return 1; }
    kill "-$1" "$(cat "$file")" 2>/dev/null || true
    if [ "$1" = KILL ]; then rm -f "$file"; return; fi
    for _ in $(seq 1 100); do kill -0 "$(cat "$file")" 2>/dev/null || break; sleep 0.2; done
    rm -f "$file"
}

stop_all() {
    [ -d "$pids" ] || { echo "nothing to stop"; return; }
    for file in "$pids"/agentd-*; do [ -e "$file" ] && signal_member TERM "${file##*-}"; done
    local stopping=()
    for file in "$pids"/*; do
        [ -e "$file" ] || continue
        kill "$(cat "$file")" 2>/dev/null || true
        stopping+=("$(cat "$file")")
        rm -f "$file"
    done
    # Wait (up to 10 s) until they are gone, so that their ports are free for the next start.
    for pid in ${stopping[@]+"${stopping[@]}"}; do
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    done
    echo "stopped everything scripts/demo.sh started"
}

status() {
    for file in "$pids"/*; do
        [ -e "$file" ] || continue
        if kill -0 "$(cat "$file")" 2>/dev/null; then echo "running  $(basename "$file") (pid $(cat "$file"))"; fi
    done
    for port in 12345 12346; do
        echo "--- 127.0.0.1:$port /api/v0/web/peers"
        agent_curl -s "$(agent_url "$port")/api/v0/web/peers" || echo "(not answering)"
        echo
    done
}

case "${1:-start}" in
  start) ;;
  stop) stop_all; exit 0 ;;
  stop-member) signal_member TERM "${2:?member number}"; echo "agentd-$2 stopped (graceful leave)"; exit 0 ;;
  kill-member) signal_member KILL "${2:?member number}"; echo "agentd-$2 killed"; exit 0 ;;
  start-member) mkdir -p "$pids" "$run_dir/logs"; start_member "${2:?member number}"; echo "agentd-$2 started"; exit 0 ;;
  status) status; exit 0 ;;
  *) sed -n '2,19p' "$0"; exit 2 ;;
esac

if [ -d "$pids" ] && anything_running && [ "$(cat "$mode_file" 2>/dev/null || echo plain)" != "$([ "$tls" = 1 ] && echo tls || echo plain)" ]; then
    echo "The scenario is running $([ "$tls" = 1 ] && echo "without" || echo "with") TLS; stop it first: bash scripts/demo.sh stop"
    exit 1
fi
bash scripts/install-deps.sh
bash scripts/build-release.sh agentd
mkdir -p "$pids" "$run_dir/logs"
exporter_flags=() prometheus_flags=()
if [ "$tls" = 1 ]; then
    make_certificates
    exporter_flags=(--web.config.file="$tls_dir/node-exporter-web.yml")
    prometheus_flags=(--web.config.file="$tls_dir/prometheus-web.yml")
    echo tls >"$mode_file"
else
    echo plain >"$mode_file"
fi
for i in 1 2 3 4 5 6 7 8; do
    start_process "node-exporter-$i" prometheus-node-exporter --web.listen-address="127.0.0.1:910$i" \
        ${exporter_flags[@]+"${exporter_flags[@]}"}
done
printf 'global:\n  scrape_interval: 15s\n' >"$run_dir/prometheus.yml"
start_process prometheus prometheus --config.file="$run_dir/prometheus.yml" \
    --storage.tsdb.path="$run_dir/prometheus" --web.listen-address=127.0.0.1:9090 \
    --web.enable-remote-write-receiver --query.lookback-delta=1m ${prometheus_flags[@]+"${prometheus_flags[@]}"}
sleep 1
start_member 1
start_member 2
for port in 12345 12346; do
    for _ in $(seq 1 100); do agent_curl -sf "$(agent_url "$port")/-/ready" >/dev/null && break; sleep 0.2; done
done
if [ "$tls" = 1 ]; then
    cat <<TEXT

The scenario is running over TLS (certificates, keys and Prometheus's password in $tls_dir):
  agentd-1 UI       https://127.0.0.1:12345/   (your browser does not know the demo's CA: import
  agentd-2 UI       https://127.0.0.1:12346/    run/tls/ca.crt, or accept the warning)
  Prometheus        https://127.0.0.1:9090/    user agentd, password in run/tls/prometheus.password
  node exporters    https://127.0.0.1:9101/metrics … https://127.0.0.1:9108/metrics
  logs and data     $run_dir

The agents gossip over mutual TLS (each presents run/tls/agentd-N.crt); a reader needs only the CA:
  curl --cacert run/tls/ca.crt https://127.0.0.1:12345/-/ready
  .build-release/release/agentd members --addr 127.0.0.1:12345 --tls.ca-file run/tls/ca.crt
  .build-release/release/agentd targets --addr 127.0.0.1:12346 --tls.ca-file run/tls/ca.crt
  curl --cacert run/tls/ca.crt https://127.0.0.1:9101/metrics | head
  curl --cacert run/tls/ca.crt -u "agentd:\$(cat run/tls/prometheus.password)" https://127.0.0.1:9090/api/v1/query \\
      --data-urlencode 'query=count by (scraped_by) (up{job="clustered-targets"})'
  .build-release/release/agentd replay --since 10m --storage.path=run/agentd-2 --match '{instance="node-exporter-1"}' \\
      --to https://127.0.0.1:9090/api/v1/write --config examples/scenario/config-tls.alloy

Next: bash scripts/demo.sh stop-member 1   (then: .build-release/release/agentd ownership-history --storage.path=run/agentd-2)
Stop everything:  bash scripts/demo.sh stop
TEXT
    exit 0
fi
cat <<TEXT

The scenario is running:
  agentd-1 UI       http://127.0.0.1:12345/
  agentd-2 UI       http://127.0.0.1:12346/
  Prometheus        http://127.0.0.1:9090/  (try: count by (scraped_by) (up{job="clustered-targets"}))
  node exporters    http://127.0.0.1:9101/metrics … http://127.0.0.1:9108/metrics
  logs and data     $run_dir

Next: bash scripts/demo.sh stop-member 1   (then: .build-release/release/agentd ownership-history --storage.path=run/agentd-2)
Stop everything:  bash scripts/demo.sh stop
TEXT
