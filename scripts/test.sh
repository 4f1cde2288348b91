#!/usr/bin/env bash
# The whole test suite: installs the test tools (moto, cfn-lint) into .venv if needed, then
# runs every crate's tests, including the store conformance suite against both the embedded
# store and DynamoDB (moto's server mode, started by the tests themselves).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-test-env.sh
cargo test --workspace --locked "$@"
