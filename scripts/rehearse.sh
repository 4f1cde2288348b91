#!/usr/bin/env bash
# The deploy rehearsal: the stack as AWS would build it, every function started from it, every
# path walked (tests/rehearsal/README.md). For each samconfig environment named (default: dev
# and prod) and both Endpoint modes:
#   1. tests/rehearsal/plan.py translates template.yaml with aws-sam-translator for that
#      environment's parameters and resolves every function's configuration;
#   2. provision.py creates what the plan names on moto (a fresh moto state each time), and
#      `gavel deploy secrets` creates the secrets, as the runbook does;
#   3. IAM is enforced, and gavel-rehearse starts each function's real bootstrap under a Lambda
#      Runtime API emulator with exactly its planned environment and its role's credentials,
#      and walks every route, command, button, job kind and sweep through them.
# Loopback only; every wait is bounded. Exits non-zero on the first environment that fails.
#
#   scripts/rehearse.sh [env ...]
#
# To see it catch a broken deploy: REHEARSAL_TEMPLATE=<a changed copy of template.yaml>
# rehearses that template instead; REHEARSAL_DROP_SECRET=<NAME> deletes that secret after
# `gavel deploy secrets` made it, as a runbook that forgot it would leave the stack.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-test-env.sh
envs=("$@")
[[ ${#envs[@]} -gt 0 ]] || envs=(dev prod)
target="${CARGO_TARGET_DIR:-target}"
py=.venv/bin/python
template="${REHEARSAL_TEMPLATE:-template.yaml}"

# One cargo call for every bootstrap, features unified across the workspace as `sam build`
# unifies them (it runs `cargo lambda build --bin <name>` from the root, no `-p`); the dev
# profile, as the rehearsal checks the stack, not the optimiser (`sam build`'s release builds
# are measured in BENCHMARKS.md).
cargo build --quiet --locked -p discord-interactions -p slack -p telegram -p worker \
    -p maintenance -p gavel-cli -p gavel-tests --bin gavel-rehearse \
    --bin discord-interactions --bin slack --bin telegram --bin worker --bin maintenance --bin gavel
bins="$target/debug"

work="$(mktemp -d)"
logs="${REHEARSAL_LOGS:-$work/logs}"
mkdir -p "$logs"
port="$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
$py tests/support/moto_serialized.py -H 127.0.0.1 -p "$port" >"$logs/moto.log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
moto="http://127.0.0.1:$port"
up=""
for _ in $(seq 100); do
    $py -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && up=1 && break
    sleep 0.1
done
[[ -n "$up" ]] || { echo "rehearse: moto did not start; its log:" >&2; cat "$logs/moto.log" >&2; exit 1; }

# What the secrets hold in the rehearsal: known values where the driver must sign or the
# fakes check them; `gavel deploy secrets` generates the rest (the component and Telegram
# webhook secrets) as it does for a real deploy.
export REHEARSAL_SLACK_SIGNING_SECRET="rehearsal-slack-signing-secret-0123456789"
export REHEARSAL_SLACK_BOT_TOKEN="xoxb-rehearsal-not-a-token"
export REHEARSAL_DISCORD_BOT_TOKEN="rehearsal.discord.bot-token"
export REHEARSAL_TELEGRAM_BOT_TOKEN="123456:TEST-token_value"

for env in "${envs[@]}"; do
    for mode in http-api function-urls; do
        plan="$work/plan-$env-$mode.json"
        principals="$work/principals-$env-$mode.json"
        $py tests/rehearsal/plan.py --template "$template" --samconfig samconfig.toml \
            --env "$env" --endpoint "$mode" >"$plan"
        $py tests/rehearsal/provision.py --plan "$plan" --endpoint "$moto" --reset >"$principals"
        AWS_ENDPOINT_URL="$moto" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
        AWS_REGION=us-east-1 "$bins/gavel" deploy secrets --config-env "$env" --no-prompt \
            --template "$template" \
            --from-env SLACK_SIGNING_SECRET=REHEARSAL_SLACK_SIGNING_SECRET \
            --from-env SLACK_BOT_TOKEN=REHEARSAL_SLACK_BOT_TOKEN \
            --from-env DISCORD_BOT_TOKEN=REHEARSAL_DISCORD_BOT_TOKEN \
            --from-env TELEGRAM_BOT_TOKEN=REHEARSAL_TELEGRAM_BOT_TOKEN
        if [[ -n "${REHEARSAL_DROP_SECRET:-}" ]]; then
            suffix="$(echo "$REHEARSAL_DROP_SECRET" | tr 'A-Z_' 'a-z-' | sed 's/^gavel-//')"
            prefix="$($py -c "import json,sys; print(json.load(open(sys.argv[1]))['parameters']['SecretName'])" "$plan")"
            $py -c "import boto3,sys; boto3.client('secretsmanager', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing').delete_secret(SecretId=sys.argv[2], ForceDeleteWithoutRecovery=True)" "$moto" "$prefix/$suffix"
            echo "rehearsal: deleted the secret $prefix/$suffix (REHEARSAL_DROP_SECRET)"
        fi
        # From here on moto checks every call's signature and policy.
        $py -c "import urllib.request as u; u.urlopen(u.Request('$moto/moto-api/reset-auth', data=b'0', method='POST', headers={'Content-Type': 'text/plain'}))"
        "$bins/gavel-rehearse" --plan "$plan" --principals "$principals" --bin-dir "$bins" \
            --moto "$moto" --logs "$logs" \
            --slack-signing-secret "$REHEARSAL_SLACK_SIGNING_SECRET"
    done
done
