#!/bin/sh
# relay_test.sh: kernel TLS in pamproxyd's relay, checked for real. Runs inside the VM that
# tests/ktls/vm-run boots (busybox sh, the tls module loaded by init, binaries in
# /opt/pamproxy/bin). Writes its verdict line to /tmp/ktls-verdict; init prints it.
#
#   pamproxy-load / curl --CONNECT--> pamproxyd (pass-through) --TLS--> pamproxy-fast-upstream
#
# First a kernel self-check (the kTLS unit tests, on loopback sockets). Then three pamproxyd runs
# against one upstream, one after the other:
#   off       [engine] ktls = "off": a short keep-alive load; every tunnel must log
#             tls_path=userspace and /proc/net/tls_stat must not move.
#   required  [engine] ktls = "required", [upstream] pool_idle_per_host = 0 (both legs go to the
#             kernel): keep-alive small requests, a large download and a large upload with curl
#             (the download's sha256 checked), large requests and responses with pamproxy-load,
#             a new tunnel per request.
#   pooled    ktls = "required" with the pool on (the default): client legs in the kernel,
#             upstream legs kept in user space; keep-alive load then a new tunnel per request:
#             every tunnel tls_path=ktls-client, and later tunnels reuse kept upstreams.
# Pass: every load error-free; every tunnel of the "required" run logs tls_path=ktls, except one
# that ended before its legs were settled (legs_settled=false) or whose client leg had part of a
# record read ahead (its tunnel.ktls_fallback says so); no other fallback; the kernel's TlsTxSw
# and TlsRxSw grew during it (and TlsDecryptError did not); the "pooled" run kept upstream legs
# in user space and reused them; the "off" run stayed in user space. Synchronisation polls
# files, ports and processes against deadlines.
# Functions called through wait_for look unreachable to shellcheck:
# shellcheck disable=SC2317
set -u
B=/opt/pamproxy/bin
W=/tmp/ktls
HOST=s3.ktls.test
UP_PORT=9443
PX_PORT=8081
ADMIN_PORT=8443
# Sizes for software emulation, where the relay moves a few MB/s: pamproxy-load runs for a fixed
# time and must still complete several large requests; curl moves a fixed amount (1024 records
# of 16 KiB each way) however long it takes.
LOAD_BYTES=$((1024 * 1024))
CURL_BYTES=$((16 * 1024 * 1024))
mkdir -p "$W"
failures=""

say() { echo "KTLS-VM: $*"; }
fail() {
  say "FAIL: $*"
  failures="$failures${failures:+; }$*"
}
uptime_s() { cut -d' ' -f1 /proc/uptime; }
now_ds() { awk '{printf "%d", $1 * 10}' /proc/uptime; }
# alive PID: the process exists and is not a zombie.
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat")" != Z ]; }
# listening PORT: a TCP socket on 127.0.0.1:PORT is in LISTEN state.
listening() {
  awk -v want="$(printf '0100007F:%04X' "$1")" '$2 == want && $4 == "0A" {found = 1}
    END {exit !found}' /proc/net/tcp
}
# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.1 s until it succeeds or time is up.
wait_for() {
  limit_ds=$(($(now_ds) + $1 * 10))
  what=$2
  shift 2
  while ! "$@"; do
    if [ "$(now_ds)" -ge "$limit_ds" ]; then
      say "timed out waiting for $what"
      return 1
    fi
    sleep 0.1
  done
}
# tls_stat_in SNAPSHOT NAME: a counter's value in a saved /proc/net/tls_stat (0 when absent).
tls_stat_in() { awk -v n="$2" '$1 == n {v = $2} END {print v + 0}' "$W/tls_stat.$1"; }
snapshot() { cp /proc/net/tls_stat "$W/tls_stat.$1"; }
show_stat_delta() {  # show_stat_delta BEFORE AFTER
  say "/proc/net/tls_stat ($1 -> $2):"
  awk 'NR == FNR {b[$1] = $2; next} {printf "KTLS-VM:   %-24s %10s -> %-10s (+%d)\n", $1, b[$1], $2, $2 - b[$1]}' \
    "$W/tls_stat.$1" "$W/tls_stat.$2"
}
stat_grew() {  # stat_grew NAME BEFORE AFTER
  [ "$(tls_stat_in "$3" "$1")" -gt "$(tls_stat_in "$2" "$1")" ]
}

# What wait_for polls.
upstream_ready() { [ -s "$W/up-ca.pem" ] && listening "$UP_PORT"; }
proxy_ready_or_gone() { grep -q 'daemon\.ready' "$D/pamproxyd.log" || ! alive "$PX_PID"; }
proxy_gone() { ! alive "$PX_PID"; }

# ---------------------------------------------------------------- the upstream
start_upstream() {
  # --log-closes: each connection it closes is a line in upstream.log, with why (printed when a
  # transfer fails: an upstream that gave up and one the proxy reset look alike from the proxy).
  "$B/pamproxy-fast-upstream" --listen "127.0.0.1:$UP_PORT" --ca-out "$W/up-ca.pem" \
    --host "$HOST" --log-closes 1 2>"$W/upstream.log" &
  UP_PID=$!
  if ! wait_for 30 "pamproxy-fast-upstream to listen" upstream_ready || ! alive "$UP_PID"; then
    cat "$W/upstream.log"
    return 1
  fi
  say "upstream ready on 127.0.0.1:$UP_PORT (certificate for $HOST) at uptime $(uptime_s) s"
}

# ---------------------------------------------------------------- pamproxyd
# start_proxy KTLS_MODE: a pamproxyd in pass-through mode, one worker, state and log under
# $W/KTLS_MODE. Sets D (its directory) and PX_PID.
# start_proxy KTLS [UPSTREAM_KEYS [NAME]]: pamproxyd with [engine] ktls = KTLS and more
# [upstream] keys, its files in $W/NAME (default: KTLS).
start_proxy() {
  D=$W/${3:-$1}
  mkdir -p "$D"
  mkdir -m 0700 "$D/state"
  cat >"$D/pamproxyd.toml" <<TOML
[proxy]
listen = ["127.0.0.1:$PX_PORT"]
destination_allowlist = ["$HOST:$UP_PORT"]
mode = "pass-through"
[admin]
listen = "127.0.0.1:$ADMIN_PORT"
[upstream]
resolve = [{ host = "$HOST", address = "127.0.0.1:$UP_PORT" }]
${2:-}
[tls]
upstream_ca_file = "$W/up-ca.pem"
[store]
directory = "$D/state"
[engine]
threads = 1
ktls = "$1"
[log]
level = "info"
TOML
  # stdout would carry the first start's admin token: it stays out of the console.
  : >"$D/pamproxyd.log"
  "$B/pamproxyd" --config "$D/pamproxyd.toml" >/dev/null 2>"$D/pamproxyd.log" &
  PX_PID=$!
  wait_for 60 "pamproxyd (ktls = \"$1\") to be ready" proxy_ready_or_gone
  if ! alive "$PX_PID" || ! grep -q 'daemon\.ready' "$D/pamproxyd.log" || ! listening "$PX_PORT"; then
    say "pamproxyd (ktls = \"$1\") did not start; its log:"
    sed 's/^/KTLS-VM:   /' "$D/pamproxyd.log"
    return 1
  fi
  say "pamproxyd (ktls = \"$1\") ready at uptime $(uptime_s) s; its kTLS start lines:"
  grep -E 'tls\.ktls|proxy\.tls_path' "$D/pamproxyd.log" | sed 's/^/KTLS-VM:   /'
}

stop_proxy() {
  kill -TERM "$PX_PID" 2>/dev/null
  if ! wait_for 30 "pamproxyd to stop" proxy_gone; then
    fail "pamproxyd (pid $PX_PID) ignored SIGTERM for 30 s"
    kill -KILL "$PX_PID" 2>/dev/null
  fi
  wait "$PX_PID" 2>/dev/null
}

# ---------------------------------------------------------------- the clients
# load NAME ARGS...: pamproxy-load through the proxy; fails unless it completed requests with
# errors=0.
load() {
  name=$1
  shift
  t0=$(uptime_s)
  "$B/pamproxy-load" --proxy "127.0.0.1:$PX_PORT" --target "$HOST:$UP_PORT" \
    --ca "$D/state/ca/ca.pem" --warmup 0.5 "$@" >"$W/load.out" 2>&1
  rc=$?
  say "load $name: $* (took $(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN {printf "%.1f", b - a}') s)"
  sed 's/^/KTLS-VM:   /' "$W/load.out"
  requests=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' "$W/load.out" | tail -1)
  errors=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' "$W/load.out" | tail -1)
  if [ -z "$requests" ] || [ -z "$errors" ]; then
    fail "load $name: pamproxy-load exited $rc without a result line"
  elif [ "$errors" -ne 0 ]; then
    fail "load $name: $errors errors in $requests requests"
  elif [ "$requests" -eq 0 ]; then
    fail "load $name: no request completed"
  elif [ "$rc" -ne 0 ]; then
    fail "load $name: pamproxy-load exited $rc"
  fi
}

# How the upstream saw its last connections end (its --log-closes lines).
upstream_closes() {
  grep 'closing fd' "$W/upstream.log" | tail -3 | sed 's/^/KTLS-VM:   upstream: /'
}

# The upstream answers GET /N with N bytes 'a'..'z' repeated from the first byte on; the same
# bytes serve as the upload body.
make_pattern() { yes abcdefghijklmnopqrstuvwxyz | tr -d '\n' | head -c "$CURL_BYTES" >"$W/pattern"; }
# curl_transfers: one large download through the proxy, its sha256 checked against what the
# upstream sent, and one large upload (the upstream answers once it has read every body byte).
curl_transfers() {
  if [ ! -x "$B/curl" ]; then
    say "curl is not in this VM: the checksummed download and the upload are skipped"
    return 0
  fi
  [ -s "$W/pattern" ] || make_pattern
  via="--proxy http://127.0.0.1:$PX_PORT --cacert $D/state/ca/ca.pem"
  # Several downloads in a row over kept upstream connections (where a kTLS receive completing
  # with 0 on an open connection once cut responses short), each checked to the byte.
  want=$(sha256sum "$W/pattern" | cut -d' ' -f1)
  for k in 1 2 3 4 5 6; do
    # shellcheck disable=SC2086
    if ! "$B/curl" -sS --fail --max-time 180 $via -o "$W/download" "https://$HOST:$UP_PORT/$CURL_BYTES"; then
      fail "curl: download $k of 6 ($CURL_BYTES bytes) through the proxy failed"
      grep -E 'tunnel\.(closed|ktls|tls_failed|upstream_failed)' "$D/pamproxyd.log" | tail -2 |
        sed 's/^/KTLS-VM:   /'
      upstream_closes
    elif [ "$(sha256sum "$W/download" | cut -d' ' -f1)" != "$want" ]; then
      fail "curl: download $k of 6: the body's sha256 differs from what the upstream sent"
    fi
  done
  say "curl: 6 downloads of $CURL_BYTES bytes in a row, each checked"
  t0=$(uptime_s)
  # shellcheck disable=SC2086
  if ! "$B/curl" -sS --fail --max-time 180 $via -o "$W/download" "https://$HOST:$UP_PORT/$CURL_BYTES"; then
    fail "curl: the download of $CURL_BYTES bytes through the proxy failed"
    # How the proxy saw it end.
    grep -E 'tunnel\.(closed|ktls|tls_failed|upstream_failed)' "$D/pamproxyd.log" | tail -3 |
      sed 's/^/KTLS-VM:   /'
    upstream_closes
  else
    took=$(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN {printf "%.1f", b - a}')
    got=$(sha256sum "$W/download" | cut -d' ' -f1)
    want=$(sha256sum "$W/pattern" | cut -d' ' -f1)
    say "curl download: $(wc -c <"$W/download") bytes in $took s, sha256 $got (sent: $want)"
    [ "$got" = "$want" ] || fail "curl download: the body's sha256 differs from what the upstream sent"
  fi
  rm -f "$W/download"
  t0=$(uptime_s)
  # shellcheck disable=SC2086
  if ! code=$("$B/curl" -sS --fail --max-time 180 $via -H 'Expect:' -T "$W/pattern" -o /dev/null \
    -w '%{http_code} %{size_upload}' "https://$HOST:$UP_PORT/0"); then
    fail "curl: the upload of $CURL_BYTES bytes through the proxy failed"
  else
    took=$(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN {printf "%.1f", b - a}')
    say "curl upload: status and bytes sent: $code, in $took s"
    [ "$code" = "200 $CURL_BYTES" ] || fail "curl upload: expected \"200 $CURL_BYTES\", got \"$code\""
  fi
}

show_metrics() {
  token=$D/state/bootstrap-admin-token
  if [ ! -s "$token" ]; then
    say "metrics: no bootstrap admin token in the state directory, not queried"
    return 0
  fi
  if HOME=$D "$B/pamctl" metrics --url "https://127.0.0.1:$ADMIN_PORT" --token-file "$token" \
    --ca "$D/state/ca/ca.pem" >"$W/metrics" 2>"$W/metrics.err"; then
    say "metrics (tls and tunnel counters):"
    grep -E '^pamproxy_(tls_|ktls_|upstream_pool|tunnels_opened|client_bytes|upstream_bytes)' "$W/metrics" |
      sed 's/^/KTLS-VM:   /'
  else
    say "metrics: not reachable: $(head -1 "$W/metrics.err")"
  fi
}

# tunnels_report MODE: prints the tunnel.established count per tls_path; sets TUNNELS, KTLS,
# USERSPACE.
tunnels_report() {
  TUNNELS=$(grep -c 'tunnel\.established' "$D/pamproxyd.log")
  KTLS=$(grep 'tunnel\.established' "$D/pamproxyd.log" | grep -cE 'tls_path=ktls( |$)')
  USERSPACE=$(grep 'tunnel\.established' "$D/pamproxyd.log" | grep -cE 'tls_path=userspace( |$)')
  # A tunnel that ended before its legs were settled (legs_settled=false: e.g. the client left
  # right after its request) never had the chance; a leg the relay could not hand over says why
  # in a tunnel.ktls_fallback line, and only a partial record read ahead is an accepted reason.
  UNSETTLED=$(grep 'tunnel\.established' "$D/pamproxyd.log" | grep -vE 'tls_path=ktls( |$)' |
    grep -cE 'legs_settled=false( |$)')
  PARTIAL=$(grep -c 'tunnel\.ktls_fallback.*part of a record' "$D/pamproxyd.log")
  OTHER_FALLBACKS=$(grep 'tunnel\.ktls_fallback' "$D/pamproxyd.log" | grep -vc 'part of a record')
  say "ktls = \"$1\": $TUNNELS tunnel.established lines: tls_path=ktls $KTLS, tls_path=userspace $USERSPACE; ended before settling $UNSETTLED, fallbacks for a partial record $PARTIAL, other fallbacks $OTHER_FALLBACKS"
  grep 'tunnel\.established' "$D/pamproxyd.log" | head -2 | sed 's/^/KTLS-VM:   e.g. /'
  grep -E 'tunnel\.(ktls_fallback|ktls_failed|ktls_control)' "$D/pamproxyd.log" | head -5 |
    sed 's/^/KTLS-VM:   /'
  # Any other tunnel, with how it ended and why a leg stayed in user space.
  grep 'tunnel\.established' "$D/pamproxyd.log" | grep -vE 'tls_path=ktls( |$)' | head -5 |
    while read -r line; do
      client=$(echo "$line" | sed -n 's/.* client=\([^ ]*\).*/\1/p')
      echo "KTLS-VM:   other: $line"
      grep -E "(tunnel\.closed|tunnel\.ktls_fallback).* client=$client( |$)" "$D/pamproxyd.log" |
        sed 's/^/KTLS-VM:     /'
    done
}

# ---------------------------------------------------------------- the kernel
# Before the relay: kTLS works in this kernel with these modules. The kTLS unit tests install
# keys on a loopback socket and exchange records with a user-space peer; the kernel must count
# them. A failure here is the VM's, not the relay's.
kernel_self_check() {
  if [ ! -x "$B/unit-tls" ]; then
    say "kernel self-check skipped: unit-tls is not in this VM"
    return 0
  fi
  snapshot self.before
  "$B/unit-tls" --gtest_filter='Ktls.*:*KtlsKeys*' --gtest_brief=1 >"$W/unit-tls.out" 2>&1
  rc=$?
  snapshot self.after
  grep -E '^\[ +(PASSED|FAILED) +\]|^\[==========\]' "$W/unit-tls.out" | sed 's/^/KTLS-VM:   /'
  tx=$(($(tls_stat_in self.after TlsTxSw) - $(tls_stat_in self.before TlsTxSw)))
  rx=$(($(tls_stat_in self.after TlsRxSw) - $(tls_stat_in self.before TlsRxSw)))
  if [ "$rc" -ne 0 ]; then
    grep -B2 -A12 'Failure' "$W/unit-tls.out" | head -40 | sed 's/^/KTLS-VM:   /'
    fail "kernel self-check: unit-tls Ktls.* failed in this VM (exit $rc)"
  elif [ "$tx" -le 0 ] || [ "$rx" -le 0 ]; then
    fail "kernel self-check: unit-tls passed but /proc/net/tls_stat did not count kTLS (TlsTxSw +$tx, TlsRxSw +$rx)"
  else
    say "kernel self-check: kTLS works in this kernel (unit-tls Ktls.*: TlsTxSw +$tx, TlsRxSw +$rx)"
  fi
}

# ---------------------------------------------------------------- the runs
run_off() {
  start_proxy off || { fail "pamproxyd with ktls = \"off\" did not start"; return; }
  snapshot off.before
  load "keep-alive (ktls off)" --seconds 2 --connections 4 --response-bytes 1024
  snapshot off.after
  tunnels_report off
  show_stat_delta off.before off.after
  [ "$TUNNELS" -gt 0 ] || fail "ktls = \"off\": no tunnel.established line"
  [ "$USERSPACE" -eq "$TUNNELS" ] ||
    fail "ktls = \"off\": $((TUNNELS - USERSPACE)) tunnels did not log tls_path=userspace"
  # Off the kernel path, the client's TLS 1.3 handshake is pamproxy's own ([tls] own_handshake).
  OWN=$(grep 'tunnel\.established' "$D/pamproxyd.log" | grep -cE 'client_handshake=pamproxy( |$)')
  [ "$OWN" -eq "$TUNNELS" ] ||
    fail "ktls = \"off\": $((TUNNELS - OWN)) tunnels did not log client_handshake=pamproxy"
  if stat_grew TlsTxSw off.before off.after || stat_grew TlsRxSw off.before off.after; then
    fail "ktls = \"off\": /proc/net/tls_stat moved although kTLS is off"
  fi
  say "ktls = \"off\" ran the user-space TLS path"
  stop_proxy
}

NOT_USED=""
run_required() {
  start_proxy required "pool_idle_per_host = 0" ||
    { fail "pamproxyd with ktls = \"required\" did not start"; return; }
  NOT_USED=$(grep 'tls\.ktls_not_used' "$D/pamproxyd.log" | head -1)
  snapshot required.before
  load "keep-alive small requests" --seconds 3 --connections 4 --response-bytes 1024
  curl_transfers
  load "large download" --seconds 5 --connections 2 --response-bytes "$LOAD_BYTES"
  load "large upload" --seconds 5 --connections 2 --request-bytes "$LOAD_BYTES"
  load "new tunnel per request" --seconds 3 --connections 4 --new-tunnel
  snapshot required.after
  tunnels_report required
  # The client legs' keys came from pamproxy's own handshake ([tls] own_handshake): count them.
  OWN=$(grep 'tunnel\.established' "$D/pamproxyd.log" | grep -cE 'client_handshake=pamproxy( |$)')
  OWN_KTLS=$(grep 'tunnel\.established' "$D/pamproxyd.log" |
    grep -E 'client_handshake=pamproxy( |$)' | grep -cE 'client_records=kernel( |$)')
  say "ktls = \"required\": $OWN tunnels with pamproxy's own client handshake, $OWN_KTLS of them with the client leg in the kernel"
  [ "$OWN_KTLS" -gt 0 ] ||
    fail "ktls = \"required\": no client leg keyed from pamproxy's own handshake went to the kernel"
  show_stat_delta required.before required.after
  show_metrics
  say "kernel AEADs in use now (from /proc/crypto, gcm/chacha with refcnt > 1):"
  awk '/^name/ {n = $3} /^driver/ {d = $3} /^refcnt/ && $3 > 1 && n ~ /gcm|chacha/ {
    print "KTLS-VM:   " n " " d " refcnt=" $3; found = 1}
    END {if (!found) print "KTLS-VM:   none"}' /proc/crypto
  stop_proxy
}

# The pool on: upstream legs stay in user space so they can be kept; client legs in the kernel.
run_pooled() {
  start_proxy required "" pooled ||
    { fail "pamproxyd with ktls = \"required\" and the pool did not start"; return; }
  snapshot pooled.before
  load "keep-alive (pool)" --seconds 2 --connections 4 --response-bytes 1024
  load "new tunnel per request (pool)" --seconds 2 --connections 4 --new-tunnel
  snapshot pooled.after
  lines=$(grep 'tunnel\.established' "$D/pamproxyd.log")
  P_TUNNELS=$(echo "$lines" | grep -c 'tunnel\.established')
  P_CLIENT=$(echo "$lines" | grep -cE 'tls_path=ktls-client( |$)')
  P_UNSETTLED=$(echo "$lines" | grep -vE 'tls_path=ktls-client( |$)' | grep -cE 'legs_settled=false( |$)')
  P_BOTH=$(echo "$lines" | grep -cE 'tls_path=(ktls|ktls-upstream)( |$)')
  P_REUSED=$(echo "$lines" | grep -cE 'upstream_reused=true( |$)')
  say "pooled: $P_TUNNELS tunnels, tls_path=ktls-client $P_CLIENT, ended before settling $P_UNSETTLED, an upstream leg in the kernel $P_BOTH, a kept upstream reused $P_REUSED"
  show_stat_delta pooled.before pooled.after
  [ "$P_TUNNELS" -gt 0 ] || fail "pooled: no tunnel.established line"
  if [ $((P_CLIENT + P_UNSETTLED)) -lt "$P_TUNNELS" ] || [ "$P_CLIENT" -eq 0 ]; then
    fail "pooled: $((P_TUNNELS - P_CLIENT - P_UNSETTLED)) tunnels did not log tls_path=ktls-client"
  fi
  [ "$P_BOTH" -eq 0 ] || fail "pooled: $P_BOTH upstream legs went to the kernel with the pool on"
  [ "$P_REUSED" -gt 0 ] || fail "pooled: no tunnel reused a kept upstream connection"
  stat_grew TlsTxSw pooled.before pooled.after ||
    fail "pooled: /proc/net/tls_stat TlsTxSw did not grow (client legs not in the kernel)"
  stop_proxy
}

say "relay_test.sh start at uptime $(uptime_s) s"
if [ ! -r /proc/net/tls_stat ]; then
  echo "KTLS-VM-RESULT: fail (no /proc/net/tls_stat: the tls module is not loaded)" >/tmp/ktls-verdict
  exit 1
fi
if ! start_upstream; then
  echo "KTLS-VM-RESULT: fail (pamproxy-fast-upstream did not start)" >/tmp/ktls-verdict
  exit 1
fi
kernel_self_check
run_off
run_required
run_pooled
kill "$UP_PID" 2>/dev/null

# The verdict. A relay that still runs TLS in user space says so at start (tls.ktls_not_used):
# that is the reason given first, ahead of what follows from it.
ktls_ok=1
if [ -n "$NOT_USED" ]; then
  ktls_ok=0
  detail=$(echo "$NOT_USED" | sed -n 's/.*detail="\{0,1\}\([^"]*\)"\{0,1\}.*/\1/p')
  say "ktls = \"required\": pamproxyd logged tls.ktls_not_used: ${detail:-$NOT_USED}"
fi
if [ "${TUNNELS:-0}" -eq 0 ] || [ "${KTLS:-0}" -eq 0 ] || [ "${OTHER_FALLBACKS:-0}" -ne 0 ] ||
   [ $((KTLS + UNSETTLED + PARTIAL)) -lt "${TUNNELS:-0}" ]; then
  ktls_ok=0
  say "ktls = \"required\": ${USERSPACE:-0} of ${TUNNELS:-0} tunnels relayed with user-space TLS"
fi
for counter in TlsTxSw TlsRxSw; do
  if ! stat_grew "$counter" required.before required.after 2>/dev/null; then
    ktls_ok=0
    say "ktls = \"required\": /proc/net/tls_stat $counter did not grow"
  fi
done
if stat_grew TlsDecryptError required.before required.after 2>/dev/null; then
  fail "the kernel counted TLS decryption errors (TlsDecryptError grew)"
fi
say "relay_test.sh done at uptime $(uptime_s) s"

if [ "$ktls_ok" -eq 0 ]; then
  counted="TlsTxSw +$(($(tls_stat_in required.after TlsTxSw 2>/dev/null) - $(tls_stat_in required.before TlsTxSw 2>/dev/null)))"
  counted="$counted, TlsRxSw +$(($(tls_stat_in required.after TlsRxSw 2>/dev/null) - $(tls_stat_in required.before TlsRxSw 2>/dev/null)))"
  if [ -n "$NOT_USED" ]; then
    why="the relay does not use kTLS: pamproxyd logged tls.ktls_not_used, ${USERSPACE:-0} of ${TUNNELS:-0} tunnels tls_path=userspace, $counted"
  else
    why="kTLS was not used throughout: ${KTLS:-0} of ${TUNNELS:-0} tunnels tls_path=ktls (ended before settling ${UNSETTLED:-0}, partial-record fallbacks ${PARTIAL:-0}, other fallbacks ${OTHER_FALLBACKS:-0}), $counted"
  fi
  failures="$why${failures:+; }$failures"
fi
if [ -n "$failures" ]; then
  echo "KTLS-VM-RESULT: fail ($failures)" >/tmp/ktls-verdict
  exit 1
fi
echo "KTLS-VM-RESULT: pass (ktls = \"required\": $KTLS of $TUNNELS tunnels tls_path=ktls, the others ended before settling ($UNSETTLED) or had a partial record read ahead ($PARTIAL), TlsTxSw/TlsRxSw grew, every load error-free; pooled: $P_CLIENT of $P_TUNNELS tunnels tls_path=ktls-client, $P_REUSED reused a kept upstream; ktls = \"off\": the user-space path)" >/tmp/ktls-verdict
exit 0
