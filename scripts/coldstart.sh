#!/usr/bin/env bash
# The cold start and warm cost of the Lambda bootstraps, as ratios to a minimal lambda_runtime
# function (tests/coldstart-minimal) built with the same profile and measured in the same run.
#
#   scripts/coldstart.sh [--rounds N] [--warm N]
#
# Each function is built on its own (one package per cargo call, so one function's features do
# not leak into another's binary; `sam build` unifies them, which BENCHMARKS.md measured at
# 0.06% of a bootstrap's size). COLDSTART_PROFILE picks the
# profile (default `bench`: thin LTO, opt-level 3; `release` is what ships, and takes far longer
# to build). The driver (tests/coldstart) starts moto, a local Runtime API and each bootstrap in
# turn, loopback only; see its module docs for what is measured.
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${COLDSTART_PROFILE:-bench}"
target="${CARGO_TARGET_DIR:-target}"
# Cargo puts the `bench` profile's output in target/release, beside `release`'s: copy each
# binary out as soon as it is built, so the two profiles never measure each other's files.
case "$profile" in
    dev) out="debug" ;;
    bench) out="release" ;;
    *) out="$profile" ;;
esac
bins="$target/coldstart-bin/$profile"
mkdir -p "$bins"
for package in gavel-coldstart-minimal discord-interactions slack; do
    cargo build --quiet --profile "$profile" -p "$package"
    cp "$target/$out/$package" "$bins/$package"
done
cargo build --quiet -p gavel-tests --bin gavel-coldstart
exec "$target/debug/gavel-coldstart" --bin-dir "$bins" "$@"
