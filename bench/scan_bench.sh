#!/usr/bin/env bash
# Scan benchmark (issue §5/§8): the event store's scan interface as the analysis engine will use
# it, against ClickHouse 18.16 on the same events in the same run.
#   1. full pass: rows and distinct users over every day;
#   2. two-step funnel (view_fund_detail → subscribe_fund within 1 h), users entered / converted.
# Sextant: bench/scan/scan_bench on the data dir of a stopped server (one streaming pass in
# (user, time) order, no hashing). ClickHouse: count()/uniqExact(user_id) and windowFunnel(3600).
#
#   bench/scan_bench.sh [--events 2000000] [--customers 200000] [--no-docs]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
EVENTS=2000000
CUSTOMERS=200000
WRITE_DOCS=1
COMMAND="bench/scan_bench.sh $*"
while [[ $# -gt 0 ]]; do
  case $1 in
    --events) EVENTS=$2; shift 2 ;;
    --customers) CUSTOMERS=$2; shift 2 ;;
    --no-docs) WRITE_DOCS=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
log() { echo "[scan-bench] $*" >&2; }

BUILD=$ROOT/build-release
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target sextant scan_bench -j"$(nproc)" >/dev/null
SEXTANT=$BUILD/src/cli/sextant
SCAN=$BUILD/bench/scan/scan_bench
LOADGEN=$ROOT/build-bench/loadgen
cmake -S "$ROOT/bench" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$ROOT/build-bench" --target loadgen -j"$(nproc)" >/dev/null
command -v clickhouse-server >/dev/null || \
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clickhouse-server clickhouse-client >/dev/null

WORK=$(mktemp -d /tmp/sextant-scan-bench.XXXXXX)
SX_PID=
source "$ROOT/bench/clickhouse_env.sh"
cleanup() {
  if [[ -n $SX_PID ]] && kill -0 "$SX_PID" 2>/dev/null; then kill -TERM "$SX_PID"; wait "$SX_PID" 2>/dev/null || true; fi
  ch_stop || true
  rm -rf "$WORK"
}
trap cleanup EXIT

log "generating $EVENTS events for $CUSTOMERS customers"
"$SEXTANT" generate --seed 42 --customers "$CUSTOMERS" --events "$EVENTS" --out "$WORK/dataset.jsonl" -q

# Sextant: load through the native API, stop (heads flushed to parts), scan the data dir.
(exec "$SEXTANT" serve --data-dir "$WORK/sx" --listen 127.0.0.1:0 --admin-token bench-token >"$WORK/serve.log" 2>&1) &
SX_PID=$!
url=
for _ in $(seq 1 100); do
  url=$(grep -o 'listening on http://[0-9.:]*' "$WORK/serve.log" | head -1 | sed 's/listening on //') || true
  [[ -n $url ]] && break
  sleep 0.1
done
[[ -n $url ]] || { cat "$WORK/serve.log" >&2; exit 1; }
"$LOADGEN" run --target native --url "$url/api/v1/projects/default/records" --token bench-token \
  --input "$WORK/dataset.jsonl" --batch 1000 --connections 16 --max-seconds 300 >/dev/null
kill -TERM "$SX_PID"; wait "$SX_PID" || true; SX_PID=
SX=$("$SCAN" --data-dir "$WORK/sx" --step1 view_fund_detail --step2 subscribe_fund --window-seconds 3600)
log "sextant: $SX"

# ClickHouse: the same events, table sorted by (user_id, time), then the same two questions.
ch_start "$WORK/clickhouse"
ch_query "CREATE DATABASE bench" >/dev/null
ch_query "$("$LOADGEN" ddl --input "$WORK/dataset.jsonl" --table bench.events)" >/dev/null
"$LOADGEN" run --target clickhouse --url "$CH_HTTP/?query=INSERT%20INTO%20bench.events%20FORMAT%20JSONEachRow" \
  --input "$WORK/dataset.jsonl" --batch 1000 --connections 16 --max-seconds 300 >/dev/null
ch_query "OPTIMIZE TABLE bench.events FINAL" >/dev/null
# Fastest of three runs, like scan_bench.
ch_timed() {
  local best=999999 answer= q=$1
  for _ in 1 2 3; do
    local start end
    start=$(date +%s.%N)
    answer=$(ch_query "$q")
    end=$(date +%s.%N)
    best=$(python3 -c "print(min($best, $end - $start))")
  done
  echo "$best|$answer"
}
FULL=$(ch_timed "SELECT count(), uniqExact(user_id) FROM bench.events")
FUNNEL=$(ch_timed "SELECT countIf(level >= 1), countIf(level = 2) FROM (SELECT user_id, windowFunnel(3600)(time, event = 'view_fund_detail', event = 'subscribe_fund') AS level FROM bench.events WHERE event IN ('view_fund_detail', 'subscribe_fund') GROUP BY user_id)")
ch_stop
log "clickhouse: full $FULL; funnel $FUNNEL"

SECTION=$(python3 - "$SX" "$FULL" "$FUNNEL" <<'PY'
import json, sys
sx = json.loads(sys.argv[1])
full_s, full_ans = sys.argv[2].split("|"); fun_s, fun_ans = sys.argv[3].split("|")
full_s, fun_s = float(full_s), float(fun_s)
ch_rows, ch_users = (int(x) for x in full_ans.split())
ch_in, ch_conv = (int(x) for x in fun_ans.split())
print("| query | Sextant s | ClickHouse s | Sextant / ClickHouse time | Sextant answer | ClickHouse answer |")
print("|---|---:|---:|---:|---|---|")
print(f"| full pass: rows, distinct users | {sx['full_seconds']:.3f} | {full_s:.3f} | {sx['full_seconds']/full_s:.2f}× | "
      f"{sx['rows']:,} rows, {sx['users']:,} users | {ch_rows:,} rows, {ch_users:,} users |")
print(f"| funnel view_fund_detail → subscribe_fund, 1 h | {sx['funnel_seconds']:.3f} | {fun_s:.3f} | {sx['funnel_seconds']/fun_s:.2f}× | "
      f"{sx['funnel_entered']:,} entered, {sx['funnel_converted']:,} converted | {ch_in:,} entered, {ch_conv:,} converted |")
print()
print(f"Sextant scanned {sx['parts']} parts over {sx['days']} days ({sx['full_rows_per_s']:,.0f} rows/s in the full pass). "
      "ClickHouse times include its HTTP round trip (a few ms). User counts differ by design: the load "
      "generator gives ClickHouse a user key per record (login id, else distinct_id), while Sextant's "
      "ID-Mapping joins each person's anonymous and logged-in records into one user.")
PY
)
echo "$SECTION"
if [[ $WRITE_DOCS == 1 ]]; then
  python3 - "$ROOT/docs/benchmarks.md" "$COMMAND" "$SECTION" <<'PY'
import sys
doc, command, section = sys.argv[1], sys.argv[2], sys.argv[3]
begin, end = "<!-- scan-bench:begin -->", "<!-- scan-bench:end -->"
text = open(doc).read()
if begin not in text:
  text += "\n## Scan (the interface the analysis engine uses)\n\n" + begin + "\n" + end + "\n"
pre, rest = text.split(begin, 1)
_, post = rest.split(end, 1)
body = f"Command: `{command}` (same machine, same run; release build).\n\n{section}\n"
open(doc, "w").write(pre + begin + "\n" + body + end + post)
PY
  log "wrote docs/benchmarks.md"
fi
