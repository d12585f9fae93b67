#!/usr/bin/env bash
# End to end on a real kind cluster: the user's journey from nothing to a report.
#
#   NEEDS DOCKER (about 4 GiB of memory for it), kind, kubectl and internet access for the images.
#   It is not part of `npm test`/`./test.sh`, which run on machines without a Docker engine;
#   a person with Docker runs it:   test/e2e-kind.sh          (KEEP=1 keeps the cluster afterwards)
#
# Steps (each timed): up -> env -> send Claude-Code-shaped telemetry with those variables ->
# a wrong password is refused (401) -> report through a port-forward as the user -> query ->
# status -> doctor (events arriving) -> down. Exits non-zero at the first step that fails.
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER=${CLUSTER:-tstack-e2e}
NS=telemetry
STACK=local
USER_NAME=me
CONTEXT="kind-${CLUSTER}"
PORT=${PORT:-18123}

for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null || { echo "e2e-kind: $tool is not installed (see docs/QUICKSTART.md)" >&2; exit 2; }
done
[ -x node_modules/.bin/node ] || npm install --no-audit --no-fund
NODE=node_modules/.bin/node
tstack() { "$NODE" src/cli/main.ts "$@"; }

work=$(mktemp -d)
forward_pid=
cleanup() {
  [ -n "$forward_pid" ] && kill "$forward_pid" 2>/dev/null || true
  rm -rf "$work"
  if [ "${KEEP:-0}" = 1 ]; then
    echo "e2e-kind: KEEP=1, cluster $CLUSTER left running (telemetry-stack down --cluster $CLUSTER removes it)"
  else
    tstack down --cluster "$CLUSTER" || true
  fi
}
trap cleanup EXIT

step_started=0
step() { step_started=$(date +%s); echo; echo "=== $*"; }
done_step() { echo "--- ok in $(( $(date +%s) - step_started ))s"; }
total_started=$(date +%s)

step "up: kind cluster, operator image, install, stack Ready"
tstack up --cluster "$CLUSTER" --timeout 15m
done_step

step "env: the exports for $USER_NAME"
tstack env --context "$CONTEXT" --user "$USER_NAME" -n "$NS" --stack "$STACK" > "$work/env.sh"
grep -q "OTEL_EXPORTER_OTLP_HEADERS='Authorization=Basic " "$work/env.sh"
tstack env --context "$CONTEXT" --user "$USER_NAME" -n "$NS" --stack "$STACK" --managed-settings | "$NODE" -e 'JSON.parse(require("fs").readFileSync(0, "utf8")).env.CLAUDE_CODE_ENABLE_TELEMETRY === "1" || process.exit(1)'
done_step

step "send: Claude-Code-shaped telemetry with those variables"
session="e2e-$(date +%s)"
( set -a; source "$work/env.sh"; "$NODE" test/e2e/send-telemetry.ts "$session" )
done_step

step "auth: a wrong password is refused"
if ( set -a; source "$work/env.sh"; export OTEL_EXPORTER_OTLP_HEADERS='Authorization=Basic%20bWU6d3Jvbmc%3D'; "$NODE" test/e2e/send-telemetry.ts wrong-password ) 2>"$work/refused.txt"; then
  echo "e2e-kind: the collector accepted a wrong password" >&2; exit 1
fi
grep -q "401\|Unauthorized" "$work/refused.txt" || { echo "e2e-kind: expected a 401, got:" >&2; cat "$work/refused.txt" >&2; exit 1; }
done_step

step "report: session-trace as $USER_NAME, through the CLI's own port-forward"
found=
for _ in $(seq 1 40); do
  if tstack report session-trace --context "$CONTEXT" -n "$NS" --stack "$STACK" --user "$USER_NAME" --param "session=$session" -o json > "$work/trace.json" 2>"$work/report.err" \
     && grep -q api_request "$work/trace.json"; then
    found=1; break
  fi
  sleep 3
done
[ -n "$found" ] || { echo "e2e-kind: the event never reached ClickHouse:" >&2; cat "$work/report.err" >&2; exit 1; }
done_step

step "report --url: cost-by-user through a port-forward kubectl holds"
kubectl --context "$CONTEXT" -n "$NS" port-forward "svc/${STACK}-clickhouse" "${PORT}:8123" >"$work/port-forward.log" 2>&1 &
forward_pid=$!
kubectl --context "$CONTEXT" -n "$NS" get secret "${STACK}-user-${USER_NAME}" -o jsonpath='{.data.password}' | base64 -d > "$work/password"
for _ in $(seq 1 20); do tstack report cost-by-user --url "http://localhost:${PORT}" --user "$USER_NAME" --password-file "$work/password" && break; sleep 1; done
done_step

step "query: SQL as $USER_NAME through the CLI's own port-forward"
tstack query --context "$CONTEXT" -n "$NS" --stack "$STACK" --user "$USER_NAME" -o json \
  "SELECT count() AS events FROM otel_logs WHERE LogAttributes['session.id'] = '$session'" > "$work/query.json"
grep -q '"events": [1-9]' "$work/query.json" || { echo "e2e-kind: query did not find the event:" >&2; cat "$work/query.json" >&2; exit 1; }
done_step

step "status and doctor"
tstack status --context "$CONTEXT" -n "$NS" --stack "$STACK"
tstack doctor --context "$CONTEXT" -n "$NS" --stack "$STACK"
done_step

echo
echo "e2e-kind: the whole journey took $(( $(date +%s) - total_started ))s (down follows)"
