#!/usr/bin/env bash
# run_fuzz.sh BINARY SEED_CORPUS WORK_DIR SECONDS: a bounded libFuzzer run. New inputs land in
# WORK_DIR (build tree); a crash leaves its reproducer there too and fails the test.
set -euo pipefail
bin=$1 seeds=$2 work=$3 secs=$4
mkdir -p "$work"
cd "$work"
# libFuzzer exits 77 on a crash by default, which meson would count as a skip: make it a failure.
exec "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -error_exitcode=1 -timeout_exitcode=1 \
  -print_final_stats=1 "$work" "$seeds"
