#!/usr/bin/env bash
# Runs the pipeline benchmarks (tests/benches/pipeline.rs) with short measurement times and prints,
# per group, the pipeline's mean time as a ratio of the baseline measured in the same run.
#
# Usage: scripts/bench-ratios.sh [criterion args...]
#   e.g. scripts/bench-ratios.sh slack_ping          (one group only)
#        WARM_UP=2 MEASURE=10 scripts/bench-ratios.sh (longer, steadier runs)
#
# Honours CARGO_TARGET_DIR (and CRITERION_HOME) for where criterion writes its estimates.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

warm_up="${WARM_UP:-1}"
measure="${MEASURE:-3}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
criterion_dir="${CRITERION_HOME:-$target_dir/criterion}"

# Only estimates written by this run count; older ones may be from another build of the code.
stamp="$(mktemp)"
trap 'rm -f "$stamp"' EXIT

cargo bench -p gavel-tests --bench pipeline -- \
    --warm-up-time "$warm_up" --measurement-time "$measure" "$@"

python3 - "$criterion_dir" "$stamp" <<'PY'
import json, os, sys

criterion_dir, stamp = sys.argv[1], sys.argv[2]
since = os.path.getmtime(stamp)

# group -> (baseline function, target ratio or None)
GROUPS = [
    ("discord_ping", "verify_only", 1.2),
    ("discord_command_ping", "verify_only", None),
    ("slack_ping", "hmac_plus_http", 2.0),
    ("slack_url_verification", "hmac_plus_http", 2.0),
    # AutoMod on a message against /ping: the target (at most one store transaction more) is
    # asserted by the bench on round trips; the time ratio is for the record.
    ("slack_message_event", "slack_ping", None),
]

def estimate(group, function):
    path = os.path.join(criterion_dir, group, function, "new", "estimates.json")
    if not os.path.exists(path) or os.path.getmtime(path) < since:
        return None
    with open(path) as f:
        mean = json.load(f)["mean"]
    ci = mean["confidence_interval"]
    return mean["point_estimate"], ci["lower_bound"], ci["upper_bound"]

def us(ns):
    return f"{ns / 1000:.2f}"

print()
print(f"{'group':<22} {'baseline':<16} {'base µs':>9} {'pipe µs':>9} {'ratio':>7} {'95% range':>13} {'target':>7}  met")
missed = False
for group, baseline, target in GROUPS:
    base, pipe = estimate(group, baseline), estimate(group, "pipeline")
    if base is None or pipe is None:
        print(f"{group:<22} (not run)")
        continue
    ratio = pipe[0] / base[0]
    # Rough range from the two means' confidence intervals (pessimistic pairing of bounds).
    low, high = pipe[1] / base[2], pipe[2] / base[1]
    if target is None:
        verdict, target_text = "-", "-"
    else:
        met = ratio <= target
        missed |= not met
        verdict, target_text = ("yes" if met else "NO"), f"{target:.1f}x"
    print(f"{group:<22} {baseline:<16} {us(base[0]):>9} {us(pipe[0]):>9} {ratio:>6.2f}x "
          f"{low:>5.2f}-{high:<5.2f}x {target_text:>7}  {verdict}")
print("(ratio = pipeline mean / baseline mean, both measured in this run; absolute times are"
      " for orientation only)")
sys.exit(1 if missed else 0)
PY
