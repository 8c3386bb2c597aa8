#!/usr/bin/env bash
# The main job: install dependencies, build a release binary, start `sextant serve`, load the
# demo dataset on first run, and print the URLs and the admin token. Ctrl-C stops the server.
#
# Environment: SEXTANT_DATA_DIR (./data), SEXTANT_LISTEN (127.0.0.1:8106),
#              DEMO_CUSTOMERS (20000), DEMO_EVENTS (1000000), DEMO_SEED (42).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_UNITY_BUILD=ON >/dev/null
cmake --build build-release --target sextant
scripts/build_console.sh

bin=build-release/src/cli/sextant
data_dir=${SEXTANT_DATA_DIR:-./data}
listen=${SEXTANT_LISTEN:-127.0.0.1:8106}
mkdir -p "$data_dir"
log="$data_dir/serve.log"

"$bin" serve --data-dir "$data_dir" --listen "$listen" >"$log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; exit 0' INT TERM
for _ in $(seq 1 100); do
  grep -q "listening on" "$log" 2>/dev/null && break
  kill -0 $server 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
url=$(sed -n 's/^sextant: listening on //p' "$log")
token=$(sed -n 's/^sextant: admin token //p' "$log")

if [[ ! -f "$data_dir/.demo-loaded" ]]; then
  echo "Loading demo data (first run)..."
  "$bin" generate --seed "${DEMO_SEED:-42}" --customers "${DEMO_CUSTOMERS:-20000}" \
    --events "${DEMO_EVENTS:-1000000}" --out "$data_dir/demo.jsonl"
  SEXTANT_ADMIN_TOKEN="$token" "$bin" import --project default --kind records \
    --server "$url" --errors "$data_dir/demo-import-errors.txt" "$data_dir/demo.jsonl" || true
  rm -f "$data_dir/demo.jsonl"
  # Demo tags and segments (docs/segments.md): files named N-tag-*.json / N-segment-*.json,
  # created in order (segments may use the tags before them).
  for file in examples/audience/*.json; do
    kind=tags
    [[ $file == *-segment-* ]] && kind=segments
    curl -sf -o /dev/null -X POST -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
      --data-binary "@$file" "$url/api/v1/projects/default/$kind" || echo "could not create $file"
  done
  # A demo journey (docs/journeys.md): fund detail viewed but not subscribed within 30 minutes →
  # an in-app message the app pulls; made by one operator and approved by another.
  api() { curl -sf -o /dev/null -X "$1" -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
            ${3:+-H "X-Sextant-Operator: $3"} ${4:+--data-binary "$4"} "$url/api/v1$2" || echo "demo journey: $1 $2 failed"; }
  api PUT /admin/operators "" '{"demo_maker": ["maker"], "demo_checker": ["approver"]}'
  api PUT /projects/default/channels/inapp "" '{"type": "inapp"}'
  api PUT /projects/default/templates/fund_nudge demo_maker \
    '{"channel": "inapp", "subject": "还在考虑这只基金？", "body": "看看它的历史表现和定投测算。投资有风险，入市需谨慎。"}'
  api POST /projects/default/templates/fund_nudge/approve demo_checker
  api POST /projects/default/journeys demo_maker '{"name": "基金详情未申购提醒 (demo)",
    "entry": {"type": "breakpoint", "event": "view_fund_detail", "not_followed_by": "subscribe_fund", "wait": "30m"},
    "reentry": {"mode": "cooldown", "cooldown": "7d"}, "goal": {"event": "subscribe_fund", "within": "7d"},
    "control_percent": 10, "start": "nudge",
    "nodes": {"nudge": {"type": "send", "channel": "inapp", "template": "fund_nudge", "next": "done"}, "done": {"type": "exit"}}}'
  api POST /projects/default/journeys/j1/submit demo_maker
  api POST /projects/default/journeys/j1/approve demo_checker
  api POST /projects/default/journeys/j1/start demo_maker
  # Demo accounts, one per role (docs/access.md), for signing in to the console.
  for role in admin operator approver analyst advisor auditor; do
    api POST /admin/accounts "" "{\"name\": \"demo-$role\", \"password\": \"sextant-demo-2026\", \"roles\": [\"$role\"]}"
  done
  touch "$data_dir/.demo-loaded"
fi

cat <<INFO

Sextant is running.
  Console               : $url/   (sign in with the admin token, or as demo-operator, demo-approver,
                            demo-analyst, demo-advisor, demo-auditor, demo-admin / sextant-demo-2026)
  Sensors SDK endpoint  : $url/sa?project=default
  Segment SDK endpoint  : $url/v1/batch   (write key: default)
  REST API              : $url/api/v1/projects   (Authorization: Bearer $token)
  Health / metrics      : $url/healthz  $url/metrics
  Admin token           : $token
  Data directory        : $data_dir   (server log: $log)
  Analysis queries      : $bin query --project default --server $url --token $token \\
                            examples/queries/fund_funnel.json      (more in examples/queries/)
  Tags and segments     : curl -H "Authorization: Bearer $token" $url/api/v1/projects/default/segments
                            (…/tags, …/segments/{id}/users; docs/segments.md)
  Journeys              : curl -H "Authorization: Bearer $token" $url/api/v1/projects/default/journeys
                            (…/journeys/j1/report, …/ledger, POST …/journeys/dry-run; docs/journeys.md,
                            twelve templates in examples/journeys/)
Press Ctrl-C to stop.
INFO
wait $server
