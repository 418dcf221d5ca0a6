#!/usr/bin/env bash
# bench/load/run.sh BUILD_DIR: the load figures of bench/RESULTS.md. pamproxyd runs one worker
# pinned to CPU 0; the fast upstream and the load generator share CPU 1. Each scenario runs
# direct (load -> upstream) and through the proxy (load -> pamproxyd -> upstream).
set -euo pipefail
build=${1:-build/release}
secs=${SECONDS_PER_RUN:-8}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; cp "$work/pamproxyd.log" "${BENCH_LOG:-/dev/null}" 2>/dev/null || true; rm -rf "$work"' EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up_port=$(free_port)
px_port=$(free_port)
admin_port=$(free_port)
taskset -c 1 "$build/bench/load/pamproxy-fast-upstream" --listen 127.0.0.1:$up_port \
  --ca-out "$work/up-ca.pem" 2>/dev/null &
# ENGINE_TOML and TLS_TOML add [engine] and [tls] keys (ENGINE_TOML="buffer_bytes = 65536",
# TLS_TOML="own_records = false"), to compare settings side by side.
# MODE=zero-trust: requests are SigV4-signed with a token (the load generator signs once at
# start) and verified, authorized and re-signed by the proxy; DURABILITY picks [audit]
# durability then ("before-forward" by default, or "async").
mode=${MODE:-pass-through}
sign=()
if [[ "$mode" == zero-trust ]]; then
  mkdir -m 0700 -p "$work/state"
  # STORE_SEED: the store-seed of another build (for a daemon of another commit, whose schema
  # it knows); STORE_DB: a PostgreSQL connection string to seed instead of the SQLite file, with
  # STORE_TOML naming the same database to pamproxyd (backend, postgresql_url).
  seed=$("${STORE_SEED:-$build/tests/integration/store-seed}" "${STORE_DB:-$work/state/pamproxy.db}" "$work/state/master.key" \
    --access-key AKIALOADTEST00000001 --secret-key loadTestRecordSecret0123456789abcdefghij)
  sign=(--sign "$(/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print("%s#%s:%s" % (d["token_id"], d["record_name"], d["token_secret"]))' <<<"$seed")")
fi
cat > "$work/p.toml" <<TOML
[proxy]
listen = ["127.0.0.1:$px_port"]
destination_allowlist = ["localhost:$up_port"]
mode = "$mode"
[admin]
listen = "127.0.0.1:$admin_port"
[audit]
durability = "${DURABILITY:-before-forward}"
[upstream]
resolve = [{ host = "localhost", address = "127.0.0.1:$up_port" }]
[tls]
upstream_ca_file = "$work/up-ca.pem"
${TLS_TOML:-}
[store]
directory = "$work/state"
${STORE_TOML:-}
[engine]
threads = 1
pin_threads = true
${ENGINE_TOML:-}
[limits]
connections_per_client_max = 20000
[log]
level = "${LOG_LEVEL:-warn}"
TOML
sleep 0.3
"${PAMPROXYD:-$build/src/daemon/pamproxyd}" --config "$work/p.toml" >/dev/null 2>"$work/pamproxyd.log" &
pid=$!
for _ in $(seq 100); do [[ -f "$work/state/ca/ca.pem" ]] && break; sleep 0.05; done
sleep 0.3
load() { taskset -c 1 "$build/bench/load/pamproxy-load" --seconds "$secs" "$@"; }
direct=(--target 127.0.0.1:$up_port --host localhost --ca "$work/up-ca.pem")
# --cpu-pid: the load generator also prints pamproxyd's CPU per request over the measured
# seconds (warm-up excluded): the process, its workers, and the other threads by name.
proxied=(--proxy 127.0.0.1:$px_port --target localhost:$up_port --ca "$work/state/ca/ca.pem"
  --cpu-pid $pid "${sign[@]}")
# CPU seconds pamproxyd has used so far: all its threads, and its engine workers alone
# ("pamproxy-w<N>"; the others are the audit writer, DNS, admin API and session indexer).
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' /proc/$pid/stat; }
worker_cpu_s() {
  local t total=0
  for t in /proc/$pid/task/*; do
    [[ "$(cat "$t/comm" 2>/dev/null)" == pamproxy-w* ]] || continue
    total=$(awk -v hz="$(getconf CLK_TCK)" -v sum="$total" '{printf "%.2f", sum + ($14 + $15) / hz}' "$t/stat")
  done
  echo "$total"
}
run() {
  echo "## $1"; shift
  echo -n "direct: "; load "${direct[@]}" "$@" | tail -1 || true
  local before after wbefore wafter
  before=$(cpu_s)
  wbefore=$(worker_cpu_s)
  echo -n "proxy:  "; load "${proxied[@]}" "$@" | tail -2 || true
  after=$(cpu_s)
  wafter=$(worker_cpu_s)
  # The proxy's own CPU over the run (warm-up included): throughput per core = MB/s / cores.
  echo "proxy_cpu: seconds=$(awk -v a="$after" -v b="$before" 'BEGIN {printf "%.2f", a - b}')" \
    "cores=$(awk -v a="$after" -v b="$before" -v s="$secs" 'BEGIN {printf "%.2f", (a - b) / (s + 1)}')" \
    "worker_seconds=$(awk -v a="$wafter" -v b="$wbefore" 'BEGIN {printf "%.2f", a - b}')"
}
# SCENARIOS picks a subset (default: all); IDLE_ONLY=1 runs only the memory measurement.
scenarios=" ${SCENARIOS:-small tunnel download upload upload-signed} "
want() { [[ -z "${IDLE_ONLY:-}" && "$scenarios" == *" $1 "* ]]; }
if want small; then
run "small requests, keep-alive, 64 connections, 1 KiB responses" --connections 64 --response-bytes 1024
fi
if want tunnel; then
run "new tunnel (CONNECT + handshake) per request, 16 connections" --connections 16 --new-tunnel
fi
if want download; then
run "64 MiB responses (download), 2 connections" --connections 2 --response-bytes 67108864
fi
if want upload; then
run "64 MiB requests (upload), 2 connections" --connections 2 --request-bytes 67108864
fi
if want upload-signed; then
# With MODE=zero-trust the proxied requests are signed aws-chunked (64 KiB chunks): every chunk
# verified with the token's key and re-signed with the record's. Direct: the same bytes, unsigned.
run "64 MiB signed aws-chunked requests (upload), 64 KiB chunks, 2 connections" --connections 2 \
  --request-bytes 67108864 --signed-chunks "${CHUNK_BYTES:-65536}"
fi
if [[ -z "${IDLE_ONLY:-}" ]]; then
if [[ -n "${RATE:-}" ]]; then
  run "paced at $RATE req/s, 64 connections, 1 KiB responses" --connections 64 \
    --response-bytes 1024 --rate "$RATE"
fi
fi
echo "## memory per idle tunnel"
rss() { awk '/VmRSS/ {print $2}' /proc/$pid/status; }
before=$(rss)
/usr/bin/python3 "$(dirname "$0")/idle_tunnels.py" 127.0.0.1 $px_port localhost:$up_port \
  "$work/state/ca/ca.pem" 1000 "$pid"
