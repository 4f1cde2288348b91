#!/usr/bin/env bash
# Sustained mixed traffic against a local `gavel serve` (reports confirmed by a click,
# reminders, Slack events, PINGs, forgeries), reporting every 10 s the requests, unexpected
# answers, p50/p99 and the server's resident memory, and failing if any answer was unexpected
# or the memory grew more than 20% after the warm-up.
#
# Usage: scripts/soak.sh [seconds, default 600] [profile: bench (default) or dev]
# Loopback only; bounded in time; the server is always stopped. CI runs `scripts/soak.sh 45 dev`.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-600}"
profile="${2:-bench}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

case "$profile" in
  bench)
    # Optimised like the benches, in a fraction of a full release build's time.
    cargo build --quiet --profile bench -p gavel-cli
    gavel="$CARGO_TARGET_DIR/release/gavel"
    [[ -x "$gavel" ]] || gavel="$CARGO_TARGET_DIR/bench/gavel"
    ;;
  dev)
    cargo build --quiet -p gavel-cli
    gavel="$CARGO_TARGET_DIR/debug/gavel"
    ;;
  *) echo "profile must be bench or dev, got $profile" >&2; exit 2 ;;
esac

# shellcheck source=scripts/local-server.sh
source scripts/local-server.sh

echo "gavel serve ($profile build) on 127.0.0.1:$port, pid $server; $seconds s of mixed traffic"
"$gavel" soak --url "http://127.0.0.1:$port" --data "$data" --seconds "$seconds" --pid "$server"
