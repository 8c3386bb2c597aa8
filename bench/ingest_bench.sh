#!/usr/bin/env bash
# Ingest benchmark (issue §8): durable ingest into Sextant via the native batch API and via /sa
# gzip data_list batches, and ClickHouse 18.16 (Debian's clickhouse-server) inserting the same
# rows with JSONEachRow over HTTP — events/s, p50/p99 acknowledgement latency, on-disk bytes per
# event — in one run on this machine, load generator in a separate process over loopback.
#
#   bench/ingest_bench.sh [--events 2000000] [--customers 200000] [--connections 16]
#                         [--batch 1000] [--max-seconds 300] [--sextant BIN] [--no-docs]
#                         [--latency-connections 4] [--latency-batch 100] [--latency-events 200000]
#
# Throughput runs push all events with --connections × --batch; a second, lighter "latency" run
# (first --latency-events events, --latency-connections × --latency-batch, fresh server / table)
# shows acknowledgement latency below saturation.
# Prints a Markdown table and, unless --no-docs, writes it with the exact command into
# docs/benchmarks.md (between the ingest-bench markers). Only 127.0.0.1 is used; every server it
# starts is its own child process with a fresh temp directory and is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
EVENTS=2000000
CUSTOMERS=200000
CONNECTIONS=16
BATCH=1000
MAX_SECONDS=300
LAT_CONNECTIONS=4
LAT_BATCH=100
LAT_EVENTS=200000
SEXTANT=
WRITE_DOCS=1
KEEP=0
COMMAND="bench/ingest_bench.sh $*"
while [[ $# -gt 0 ]]; do
  case $1 in
    --events) EVENTS=$2; shift 2 ;;
    --customers) CUSTOMERS=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    --max-seconds) MAX_SECONDS=$2; shift 2 ;;
    --latency-connections) LAT_CONNECTIONS=$2; shift 2 ;;
    --latency-batch) LAT_BATCH=$2; shift 2 ;;
    --latency-events) LAT_EVENTS=$2; shift 2 ;;
    --sextant) SEXTANT=$2; shift 2 ;;
    --no-docs) WRITE_DOCS=0; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

log() { echo "[bench] $*" >&2; }

# ---- build ---------------------------------------------------------------------------------
BUILD=$ROOT/build-release
if [[ -z $SEXTANT ]]; then
  SEXTANT=$BUILD/src/cli/sextant
  if [[ ! -x $SEXTANT ]]; then
    log "building Release into $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$BUILD" --target sextant -j"$(nproc)"
  fi
fi
LOADGEN=$BUILD/bench/loadgen
if [[ ! -x $LOADGEN ]]; then
  if grep -q 'add_subdirectory(bench)' "$ROOT/CMakeLists.txt" && [[ -d $BUILD ]]; then
    cmake --build "$BUILD" --target loadgen -j"$(nproc)"
  else
    LOADGEN=$ROOT/build-bench/loadgen
    cmake -S "$ROOT/bench" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$ROOT/build-bench" --target loadgen -j"$(nproc)"
  fi
fi

if ! command -v clickhouse-server >/dev/null; then
  log "installing clickhouse-server (apt)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clickhouse-server clickhouse-client >/dev/null
fi

# ---- work dir and cleanup ------------------------------------------------------------------
WORK=$(mktemp -d /tmp/sextant-ingest-bench.XXXXXX)
SX_PID=
source "$ROOT/bench/clickhouse_env.sh"
cleanup() {
  if [[ -n $SX_PID ]] && kill -0 "$SX_PID" 2>/dev/null; then kill -TERM "$SX_PID"; wait "$SX_PID" 2>/dev/null || true; fi
  ch_stop || true
  if [[ $KEEP == 0 ]]; then rm -rf "$WORK"; else log "kept $WORK"; fi
}
trap cleanup EXIT

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- dataset -------------------------------------------------------------------------------
DATA=$WORK/dataset.jsonl
log "generating $EVENTS events for $CUSTOMERS customers"
"$SEXTANT" generate --seed 42 --events "$EVENTS" --customers "$CUSTOMERS" --days 90 \
  --out "$DATA" --quiet
EVENT_LINES=$WORK/events.jsonl
grep '"type":"track' "$DATA" > "$EVENT_LINES"
N_EVENTS=$(wc -l < "$EVENT_LINES")
RAW_BYTES=$(stat -c %s "$EVENT_LINES")
if command -v zstd >/dev/null; then
  RAW_ZSTD=$(zstd -q -3 -T0 -c "$EVENT_LINES" | wc -c)
else
  RAW_ZSTD=$(gzip -6 -c "$EVENT_LINES" | wc -c)
fi
log "dataset: $N_EVENTS events, $RAW_BYTES bytes of JSON"

json_field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# ---- Sextant ---------------------------------------------------------------------------------
# sextant_run NAME PATH_TEMPLATE TARGET: fresh data dir, strict durability, one loadgen run,
# SIGTERM (flushes heads), du of the data dir. Sets RESULT and DISK.
sextant_run() {
  local name=$1 path=$2 target=$3 conns=${4:-$CONNECTIONS} batch=${5:-$BATCH} limit=${6:-0}
  local limit_args=()
  [[ $limit != 0 ]] && limit_args=(--limit "$limit")
  local dir=$WORK/sextant-$name
  mkdir -p "$dir"
  # exec in the subshell so that $! is the server itself and SIGTERM reaches it.
  (exec "$SEXTANT" serve --data-dir "$dir/data" --listen 127.0.0.1:0 --durability strict \
    --admin-token bench-token >"$dir/serve.log" 2>&1) &
  SX_PID=$!
  local url=
  for _ in $(seq 1 100); do
    url=$(grep -o 'listening on http://[0-9.:]*' "$dir/serve.log" | head -1 | sed 's/listening on //') || true
    [[ -n $url ]] && break
    kill -0 "$SX_PID" 2>/dev/null || { cat "$dir/serve.log" >&2; return 1; }
    sleep 0.1
  done
  [[ -n $url ]] || { log "sextant did not start"; return 1; }
  log "sextant ($name) at $url"
  RESULT=$("$LOADGEN" run --target "$target" --url "$url$path" --token bench-token \
    --input "$EVENT_LINES" --batch "$batch" --connections "$conns" "${limit_args[@]}" \
    --max-seconds "$MAX_SECONDS") || log "loadgen reported errors: $RESULT"
  log "$RESULT"
  if kill -TERM "$SX_PID" 2>/dev/null; then
    wait "$SX_PID" || log "sextant exited with status $?"
  else
    log "sextant died during the run; last lines of its log:"
    tail -20 "$dir/serve.log" >&2
    wait "$SX_PID" 2>/dev/null || true
  fi
  SX_PID=
  DISK=$(du -sb "$dir/data" | cut -f1)
  EVENTS_DISK=$(du -sb "$dir/data/events" 2>/dev/null | cut -f1 || echo 0)
  du -sb "$dir/data"/* 2>/dev/null | sed "s|$dir/data/||" > "$dir/du.txt" || true
}

sextant_run native /api/v1/projects/default/records native
NATIVE=$RESULT; NATIVE_DISK=$DISK; NATIVE_EVENTS_DISK=$EVENTS_DISK
sextant_run sa "/sa?project=default" sa
SA=$RESULT; SA_DISK=$DISK; SA_EVENTS_DISK=$EVENTS_DISK
sextant_run latency /api/v1/projects/default/records native "$LAT_CONNECTIONS" "$LAT_BATCH" "$LAT_EVENTS"
SX_LAT=$RESULT

# ---- ClickHouse ----------------------------------------------------------------------------
log "starting clickhouse-server"
ch_start "$WORK/clickhouse"
ch_query "CREATE DATABASE bench" >/dev/null
ch_query "$("$LOADGEN" ddl --input "$EVENT_LINES" --table bench.events)" >/dev/null
CH=$("$LOADGEN" run --target clickhouse \
  --url "$CH_HTTP/?query=INSERT%20INTO%20bench.events%20FORMAT%20JSONEachRow" \
  --input "$EVENT_LINES" --batch "$BATCH" --connections "$CONNECTIONS" \
  --max-seconds "$MAX_SECONDS") || log "loadgen reported errors: $CH"
log "$CH"
CH_ROWS=$(ch_query "SELECT count() FROM bench.events")
ch_query "CREATE TABLE bench.events_lat AS bench.events" >/dev/null
CH_LAT=$("$LOADGEN" run --target clickhouse \
  --url "$CH_HTTP/?query=INSERT%20INTO%20bench.events_lat%20FORMAT%20JSONEachRow" \
  --input "$EVENT_LINES" --batch "$LAT_BATCH" --connections "$LAT_CONNECTIONS" \
  --limit "$LAT_EVENTS" --max-seconds "$MAX_SECONDS") || log "loadgen reported errors: $CH_LAT"
log "$CH_LAT"
ch_query "OPTIMIZE TABLE bench.events FINAL" >/dev/null
for _ in $(seq 1 240); do  # background merges may still be finishing; wait for them (≤ 2 min)
  [[ $(ch_query "SELECT count() FROM system.merges WHERE database='bench'") == 0 ]] && break
  sleep 0.5
done
CH_DISK=$(ch_query "SELECT sum(bytes_on_disk) FROM system.parts WHERE database='bench' AND table='events' AND active")
CH_DU=$(du -sb "$WORK/clickhouse/data/data/bench/events" 2>/dev/null | cut -f1 || echo 0)
ch_stop

# ---- report --------------------------------------------------------------------------------
REPORT=$WORK/report.md
python3 - "$NATIVE" "$SA" "$CH" "$NATIVE_DISK" "$SA_DISK" "$CH_DISK" "$CH_DU" "$RAW_BYTES" \
  "$RAW_ZSTD" "$N_EVENTS" "$CH_ROWS" "$NATIVE_EVENTS_DISK" "$SA_EVENTS_DISK" "$SX_LAT" "$CH_LAT" > "$REPORT" <<'PY'
import json, sys
sx_lat, ch_lat = json.loads(sys.argv[14]), json.loads(sys.argv[15])
native, sa, ch = (json.loads(a) for a in sys.argv[1:4])
native_disk, sa_disk, ch_disk, ch_du, raw, raw_zstd, n, ch_rows, native_ev, sa_ev = (
    int(a) for a in sys.argv[4:14])
def rate(r): return r["events_per_s"]
rows = [
  ("Sextant native API (NDJSON)", native, native_disk, native_ev),
  ("Sextant /sa (gzip data_list)", sa, sa_disk, sa_ev),
  ("ClickHouse 18.16 JSONEachRow", ch, ch_disk, ch_disk),
]
print("| ingest path | events stored | events/s | p50 ack ms | p99 ack ms | bytes/event on disk (total) | of which event columns |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name, r, disk, ev_disk in rows:
  ev = r["events"] or 1
  print(f"| {name} | {r['events']:,} | {rate(r):,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {disk/ev:.1f} | {ev_disk/ev:.1f} |")
print(f"| raw JSON (NDJSON lines) | {n:,} | | | | {raw/n:.1f} (zstd -3: {raw_zstd/n:.1f}) | |")
print()
print(f"Latency below saturation ({sx_lat['connections']} connections × {sx_lat['batch']} events, "
      f"first {sx_lat['events']:,} events, fresh server / table):")
print()
print("| ingest path | events/s | p50 ack ms | p99 ack ms | max ms |")
print("|---|---:|---:|---:|---:|")
for name, r in (("Sextant native API", sx_lat), ("ClickHouse JSONEachRow", ch_lat)):
  print(f"| {name} | {rate(r):,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['max_ms']:.1f} |")
print()
chr_ = rate(ch) or 1
print("| ratio Sextant / ClickHouse | events/s | p99 ack | bytes/event |")
print("|---|---:|---:|---:|")
for name, r, disk, _ in rows[:2]:
  print(f"| {name} | {rate(r)/chr_:.2f}× | {r['p99_ms']/(ch['p99_ms'] or 1):.2f}× | "
        f"{(disk/(r['events'] or 1))/(ch_disk/(ch['events'] or 1)):.2f}× |")
print()
notes = []
for name, r in [(x[0], x[1]) for x in rows] + [("latency run Sextant", sx_lat), ("latency run ClickHouse", ch_lat)]:
  if r.get("errors") or not r.get("complete", True):
    notes.append(f"{name}: errors={r['errors']} complete={r['complete']}")
  if r.get("rejected"):
    notes.append(f"{name}: {r['rejected']} records rejected by the server")
if ch_rows != ch["events"]:
  notes.append(f"ClickHouse count() = {ch_rows}")
notes.append(f"ClickHouse table dir after OPTIMIZE FINAL: {ch_du:,} bytes (system.parts: {ch_disk:,})")
for x in notes: print(f"- {x}")
PY
cat "$REPORT"
{
  echo "Command: \`$COMMAND\` (batch $BATCH events, $CONNECTIONS connections, $N_EVENTS events)."
  echo "Load average (1/5/15 min) at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg) — other jobs on the machine share the two cores."
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r), $(date -u +%Y-%m-%d)."
  echo "Sextant: $("$SEXTANT" --version 2>/dev/null | head -1 || echo "$SEXTANT"), git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')."
  echo
  cat "$REPORT"
} > "$WORK/section.md"

if [[ $WRITE_DOCS == 1 ]]; then
  DOC=$ROOT/docs/benchmarks.md
  python3 - "$DOC" "$WORK/section.md" <<'PY'
import sys, os
doc, section = sys.argv[1], open(sys.argv[2]).read()
begin, end = "<!-- ingest-bench:begin -->", "<!-- ingest-bench:end -->"
text = open(doc).read() if os.path.exists(doc) else "# Benchmarks\n\n" + begin + "\n" + end + "\n"
if begin not in text:
  text += "\n" + begin + "\n" + end + "\n"
pre, rest = text.split(begin, 1)
_, post = rest.split(end, 1)
open(doc, "w").write(pre + begin + "\n" + section + end + post)
PY
  log "wrote $DOC"
fi
