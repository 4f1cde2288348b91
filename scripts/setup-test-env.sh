#!/usr/bin/env bash
# Installs what the tests and CI need beyond the Rust toolchain into a project-local virtual
# environment (.venv): moto's server mode (the DynamoDB emulator the store tests run against)
# and cfn-lint (the SAM template check). Pinned, idempotent, and quick when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${GAVEL_VENV:-$PWD/.venv}"
REQUIREMENTS="scripts/test-requirements.txt"
STAMP="$VENV/.gavel-requirements"

if [[ -x "$VENV/bin/python" ]] && [[ -f "$STAMP" ]] && cmp -s "$REQUIREMENTS" "$STAMP"; then
  exit 0
fi

PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null; then
  echo "setup-test-env: python3 is required (to run the moto DynamoDB emulator and cfn-lint)" >&2
  exit 1
fi
echo "setup-test-env: installing $(tr '\n' ' ' < "$REQUIREMENTS")into $VENV" >&2
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
cp "$REQUIREMENTS" "$STAMP"
