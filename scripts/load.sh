#!/usr/bin/env bash
# Drives a local `gavel serve` with signed requests and prints throughput and latency per kind,
# as ratios against GET /healthz measured in the same run (HTTP handling alone).
#
# Usage: scripts/load.sh [requests per kind, default 2000] [concurrency, default 16]
# Loopback only; bounded in count and time; the server is always stopped.
set -euo pipefail
cd "$(dirname "$0")/.."

requests="${1:-2000}"
concurrency="${2:-16}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

# The bench profile (optimised, thin LTO) builds in a fraction of a full release build's time
# on two cores, and is what the criterion benches use too.
cargo build --quiet --profile bench -p gavel-cli
gavel="$CARGO_TARGET_DIR/release/gavel"
[[ -x "$gavel" ]] || gavel="$CARGO_TARGET_DIR/bench/gavel"

# shellcheck source=scripts/local-server.sh
source scripts/local-server.sh

echo "gavel serve on 127.0.0.1:$port (embedded store in $data); $requests requests per kind, concurrency $concurrency"
"$gavel" load --url "http://127.0.0.1:$port" --data "$data" \
  --requests "$requests" --concurrency "$concurrency" --max-seconds 60
