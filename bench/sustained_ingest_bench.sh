#!/usr/bin/env bash
# Sustained ingest into one day: what the event store's maintenance (head flushes and
# compaction, docs/storage-format.md) costs while a day keeps receiving rows. Streams EVENTS
# generated events (bench/journeys/stream.cc: no `time`, so every row lands on today) at RATE
# events/s (0 = as fast as the server answers) over 4 keep-alive connections into a fresh
# `sextant serve --durability relaxed`, waits until every head is flushed and compaction is idle,
# then prints one row per binary:
#   stream rate and acknowledgement p99, CPU of the `store-maintain` thread and of the server,
#   the server's peak RSS (VmHWM), the seconds commits waited for head room
#   (`sextant_store_ingest_throttled_seconds_total`, backpressure), compactions, rows they rewrote
#   (`sextant_store_compacted_rows_total`, over the rows stored = write amplification), parts left.
#
#   SEXTANT="/tmp/sx-old /tmp/sx-new" EVENTS=36000000 RATE=150000 bench/sustained_ingest_bench.sh
#
# Knobs: SEXTANT (one or more binaries; default build-release/src/cli/sextant), EVENTS
# (36000000), RATE (150000), USERS (1000000), PORT (8190), DATA_ROOT (/tmp/sustained-ingest).
# The stream tool encodes every request body before it starts (~120 B per event in memory).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
EVENTS=${EVENTS:-36000000}
RATE=${RATE:-150000}
USERS=${USERS:-1000000}
PORT=${PORT:-8190}
DATA_ROOT=${DATA_ROOT:-/tmp/sustained-ingest}
SEXTANT=${SEXTANT:-$ROOT/build-release/src/cli/sextant}
TOOLS=${TOOLS:-/work/bench-data/journeys/build-tools}
if [[ ! -x $TOOLS/journey_stream ]]; then
  cmake -S "$ROOT/bench/journeys" -B "$TOOLS" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$TOOLS" -j"$(nproc)" >/dev/null
fi
URL=http://127.0.0.1:$PORT

metric() { curl -s "$URL/metrics" | awk -v name="$1" '$1 == name {print $2}'; }

echo "| binary | stream | store-maintain CPU s | server CPU s | peak RSS MiB | commits held back s | compactions | rows rewritten (per row stored) | parts left |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for binary in $SEXTANT; do
  dir=$DATA_ROOT/$(basename "$binary")
  rm -rf "$dir" && mkdir -p "$dir"
  "$binary" serve --data-dir "$dir/data" --listen 127.0.0.1:$PORT --admin-token bench-token \
    --durability relaxed >"$dir/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do grep -q "listening on" "$dir/server.log" && break; sleep 0.1; done
  "$TOOLS/journey_stream" --url "$URL/api/v1/projects/default/records" --token bench-token \
    --events "$EVENTS" --users "$USERS" --batch 1000 --connections 4 --max-seconds 900 \
    --rate "$RATE" >"$dir/stream.json"
  # Idle: no row left in a head (the last one flushes once 60 s old) and the compaction counter
  # unchanged for 15 s.
  last="" stable=0
  for _ in $(seq 900); do
    state="$(metric sextant_store_compactions_total)/$(metric sextant_store_head_rows)"
    if [[ $state == */0 && $state == "$last" ]]; then stable=$((stable + 1)); else stable=0; fi
    last=$state
    ((stable >= 15)) && break
    sleep 1
  done
  maintain=0
  for task in /proc/$pid/task/*; do
    [[ $(cat "$task/comm") == store-maintain ]] && maintain=$(awk '{print ($14 + $15) / 100}' "$task/stat")
  done
  server=$(awk '{print ($14 + $15) / 100}' /proc/$pid/stat)
  hwm=$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' /proc/$pid/status)
  throttled=$(metric sextant_store_ingest_throttled_seconds_total)
  compactions=$(metric sextant_store_compactions_total)
  rewritten=$(metric sextant_store_compacted_rows_total)
  stored=$(metric sextant_store_rows)
  parts=$(metric sextant_store_parts)
  kill -TERM $pid && wait $pid || true
  stream=$(python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(f\"{j['accepted']:,} events in {j['seconds']:.1f} s = {j['events_per_s']/1000:.0f} K/s, ack p99 {j['ack_p99_ms']:.1f} ms\")" "$dir/stream.json")
  amplification=$(python3 -c "import sys; r, s = sys.argv[1], sys.argv[2]; print(f'{int(r):,} ({int(r)/max(int(s),1):.2f}×)' if r else 'not reported')" "${rewritten:-}" "$stored")
  echo "| $binary | $stream | $maintain | $server | $hwm | ${throttled:-not reported} | $compactions | $amplification | $parts |"
done
