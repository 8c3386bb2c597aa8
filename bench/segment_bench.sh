#!/usr/bin/env bash
# Tags & segments benchmark: Sextant's audience engine (tags, segments, set algebra, realtime
# membership) on 10 M users / 100 M events, with the behaviour segments also counted by
# ClickHouse 18.16 on the same data, same machine, same run:
#   (i)   full recompute of 50 segments (profile, tag, behaviour, sequence and mixed conditions;
#         bench/segments/definitions.json) — POST /segments/{id}/refresh, elapsed_ms and HTTP wall;
#   (ii)  set algebra between materialised segments — POST /segments/estimate with segment leaves;
#   (iii) ingest ack → membership change of a realtime segment (BuyFund count ≥ 3 in 30 days, for
#         users with exactly 2): one BuyFund per sample, then polling GET /users/{id}/segments;
#   (iv)  20 tags (statistic, first/last, preference, rule) — POST /tags/{id}/run;
#   (v)   behaviour segments with absolute date windows as ClickHouse SQL (events ⋈ users):
#         sizes compared ("same" / "DIFFERENT"), time ratio Sextant / ClickHouse;
# plus the sextant server's peak RSS. Prints a table and, for full-size runs, writes it to
# docs/benchmarks.md between <!-- segment-bench --> and <!-- /segment-bench -->.
#
#   bench/segment_bench.sh                                   # full run: 10 M users, 100 M events
#   EVENTS=2000000 USERS=200000 bench/segment_bench.sh       # smoke run (~2 min)
#
# Knobs (environment):
#   EVENTS (100000000), USERS (10000000), DAYS (90), SEED (42)
#   START        first day (YYYY-MM-DD, Asia/Shanghai); default: today − DAYS + 1, so that the data
#                ends today and the definitions' relative windows ("last": "30d", which the server
#                reads against the real clock) cover the data. Set it to reuse a data set cached on
#                an earlier day (relative windows then cover less data).
#   RUNS (3)            refreshes per segment and runs per tag (the median is reported)
#   ESTIMATE_RUNS (20)  estimates per set-algebra rule
#   LATENCY_SAMPLES (250), LATENCY_TIMEOUT (5 s)   latency test (iii)
#   HOT_RUNS (3)        ClickHouse comparison: best of
#   SYSTEMS (sextant,clickhouse), DATA_ROOT (/work/bench-data/segments),
#   RELOAD (sextant|clickhouse|all: reload a cached store), CONNECTIONS (8) / BATCH (2000) for
#   the Sextant load, DEFINITIONS (bench/segments/definitions.json),
#   SEXTANT (binary; default build-segbench/src/cli/sextant), BUILD (1; 0 uses the binaries as
#   they are), DOCS (1 for EVENTS ≥ 100M, else 0), KEEP_WORK (0; 1 keeps the run's store copy).
#
# Data is generated once per parameter set into DATA_ROOT/e<EVENTS>-u<USERS>-d<DAYS>-s<SEED>-<START>/
# (events.tsv ~31 B/event, profiles.tsv ~40 B/user) and both stores are loaded there once and
# reused (load times kept in sextant-load.json / clickhouse-load.json). Each run works on a copy
# of the loaded Sextant store (run/sextant-work, removed afterwards), so the segments, tags and
# the latency test's extra BuyFund events never reach the cached store.
# Tools: bench/segments/ (README.md there), built standalone into DATA_ROOT/build-tools.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
log() { echo "[segment-bench] $*" >&2; }

command -v clickhouse-server >/dev/null || \
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clickhouse-server clickhouse-client >/dev/null

DATA_ROOT=${DATA_ROOT:-/work/bench-data/segments}
export DATA_ROOT
if [[ ${BUILD:-1} == 1 ]]; then
  cmake -S "$ROOT/bench/segments" -B "$DATA_ROOT/build-tools" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$DATA_ROOT/build-tools" --target segment_gen segment_load -j"$(nproc)" >/dev/null
  if [[ -z ${SEXTANT:-} ]]; then
    cmake -S "$ROOT" -B "$ROOT/build-segbench" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$ROOT/build-segbench" --target sextant -j"$(nproc)" >/dev/null
  fi
fi

args=""
for v in EVENTS USERS DAYS SEED START RUNS ESTIMATE_RUNS LATENCY_SAMPLES HOT_RUNS SYSTEMS RELOAD; do
  [[ -n ${!v:-} ]] && args+="$v=${!v} "
done
export BENCH_COMMAND="${args}bench/segment_bench.sh"
log "$BENCH_COMMAND"
exec python3 "$ROOT/bench/segments/run.py"
