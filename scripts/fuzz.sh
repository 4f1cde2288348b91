#!/usr/bin/env bash
# Coverage-guided fuzzing with AFL++ on the stable toolchain (cargo-afl): builds the targets in
# fuzz/ with AFL's instrumentation and runs each one for SECONDS (default 60) from its checked-in
# corpus, fuzz/corpus/<target>/. Exits non-zero if any target crashed or hung, after copying each
# such input to fuzz/corpus/<target>/crash-<hash>: commit it with the fix, and `cargo test`
# replays it from then on.
#
#   scripts/fuzz.sh [SECONDS-PER-TARGET] [TARGET...]     e.g. scripts/fuzz.sh 600 duration
#
# CI runs it briefly (.ci/run); a longer local run is the same command with more seconds. The
# first run installs cargo-afl, which builds AFL++ itself (about two minutes on two cores).
# Targets run GAVEL_FUZZ_JOBS at a time (default: one per core).
#
# cargo-afl builds every crate at AFL_OPT_LEVEL (its default, 3, in one codegen unit each). This
# script's default is 0: measured on two cores, a cold instrumented build took 303 s of CPU at 0
# against 944 s at 3, and fuzzed at 55% of the executions per second; verify_discord, whose
# curve arithmetic is unoptimised too, runs at about 40 per second then. A long local run
# repays the optimised build: `AFL_OPT_LEVEL=3 scripts/fuzz.sh 3600` (its own target folder).
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=()
    for dir in fuzz/corpus/*/; do targets+=("$(basename "$dir")"); done
fi
jobs="${GAVEL_FUZZ_JOBS:-$(nproc)}"

# cargo-afl's version must match the `afl` crate's in Cargo.lock.
afl_version="$(awk '/^name = "afl"$/ { getline; gsub(/[^0-9.]/, ""); print }' Cargo.lock)"
if ! cargo afl --version 2>/dev/null | grep -q "^cargo-afl $afl_version "; then
    echo "== fuzz: installing cargo-afl $afl_version (it builds AFL++)"
    cargo install cargo-afl --locked --version "$afl_version"
fi
# AFL++ is built per rustc version: after a toolchain update it must be built again.
if ! config_out="$(cargo afl config --build 2>&1)" && ! grep -q "already built" <<<"$config_out"; then
    echo "$config_out" >&2
    exit 1
fi

# Its own target folder (one per optimisation level): AFL's instrumentation flags would
# otherwise invalidate the main build, and each level's flags the other's.
export AFL_OPT_LEVEL="${AFL_OPT_LEVEL:-0}"
export CARGO_TARGET_DIR="${GAVEL_FUZZ_TARGET_DIR:-$HOME/.cache/gavel/target-afl-o$AFL_OPT_LEVEL}"
cargo afl build --quiet --locked --profile fuzz -p gavel-fuzz --features afl
bin="$CARGO_TARGET_DIR/fuzz/gavel-fuzz"
out_root="$CARGO_TARGET_DIR/fuzz-out"

# No terminal UI; this machine's CPU governor and core-dump handling are not ours to change,
# and neither matters for finding crashes in-process.
export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1

run_one() {
    local target="$1" out="$out_root/$1"
    rm -rf "$out"
    mkdir -p "$out"
    # -t: an input that takes a second is a hang worth reporting, not machine noise.
    cargo afl fuzz -i "fuzz/corpus/$target" -o "$out" -V "$secs" -t 1000 -- "$bin" "$target" \
        >"$out/log" 2>&1 || echo "afl-fuzz exited with $?" >>"$out/log"
}

echo "== fuzz: ${#targets[@]} targets, ${secs}s each, $jobs at a time"
running=0
for target in "${targets[@]}"; do
    [ -d "fuzz/corpus/$target" ] || { echo "no corpus for $target" >&2; exit 2; }
    run_one "$target" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

status=0
for target in "${targets[@]}"; do
    out="$out_root/$target"
    stats="$out/default/fuzzer_stats"
    if [ ! -f "$stats" ]; then
        echo "$target: afl-fuzz did not start; its log:" >&2
        tail -n 30 "$out/log" >&2
        status=1
        continue
    fi
    field() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
    printf '%-20s %9s execs %7s/s  corpus %5s  edges %-7s  crashes %s  hangs %s\n' "$target" \
        "$(field execs_done)" "$(field execs_per_sec)" "$(field corpus_count)" \
        "$(field bitmap_cvg)" "$(field saved_crashes)" "$(field saved_hangs)"
    for found in "$out"/default/crashes/id:* "$out"/default/hangs/id:*; do
        [ -f "$found" ] || continue
        keep="fuzz/corpus/$target/crash-$(sha1sum "$found" | cut -c1-12)"
        cp "$found" "$keep"
        echo "  $target failed on $keep:" >&2
        head -c 300 "$found" | od -c | head -n 8 >&2
        status=1
    done
done
if [ "$status" -ne 0 ]; then
    echo "fuzz: failures kept under fuzz/corpus/*/crash-*; replay with cargo test -p gavel-fuzz" >&2
fi
exit "$status"
