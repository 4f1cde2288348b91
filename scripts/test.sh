#!/usr/bin/env bash
# The whole test suite: installs the test tools (moto, cfn-lint) into .venv if needed, then
# runs every crate's tests, including the store conformance suite against both the embedded
# store and DynamoDB (moto's server mode, started by the tests themselves). Ends with one line
# totalling every test binary's results.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-test-env.sh

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked "$@" 2>&1 | tee "$log" || status=$?
python3 - "$log" <<'PY'
import re, sys
passed = failed = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    m = re.match(r"test result: \w+\. (\d+) passed; (\d+) failed", line)
    if m:
        passed += int(m.group(1))
        failed += int(m.group(2))
print(f"tests: {passed} passed, {failed} failed")
PY
exit "$status"
