#!/usr/bin/env bash
# Analysis benchmark: Sextant's analysis engine (POST /api/v1/projects/{p}/query) against
# ClickHouse 18.16 on the same machine, in the same run, on the same generated events:
#   1. events: count + uniq users by day over the last 30 days, for 3 of the 52 event names;
#   2. funnel: ViewFund → AddWatch → ConfirmOrder → BuyFund, 7-day window, first step in the
#      last 30 days;
#   3. retention: 30 daily cohorts (ViewFund) × return days 0..30 (AppStart).
# Each hot (fastest of HOT_RUNS after a warm-up run, server already up) and cold (server
# restarted and the page cache dropped — `sync; echo 3 > /proc/sys/vm/drop_caches`, needs root —
# before one run). Prints a table (times, ratios, whether every cell of the answers is identical,
# Sextant rows scanned per second and per CPU-second, peak RSS) and, for full-size runs, writes it
# to docs/benchmarks.md between <!-- analysis-bench --> and <!-- /analysis-bench -->.
#
#   EVENTS=100000000 USERS=1000000 DAYS=90 bench/analysis_bench.sh        # the full run (defaults)
#   EVENTS=1000000 USERS=20000 bench/analysis_bench.sh                    # a smoke run
#
# Knobs (environment): EVENTS, USERS, DAYS (≥ 60), SEED (42), START (2026-08-01, first day),
# HOT_RUNS (3), COLD (1; 0 skips the cold runs), SYSTEMS (sextant,clickhouse),
# DATA_ROOT (/work/bench-data/analysis), RELOAD (sextant|clickhouse|all: reload a cached store),
# CONNECTIONS (8) / BATCH (2000) for the Sextant load, CH_ORDER (ClickHouse sorting key,
# "event, t"), SEXTANT (binary; default build-release/src/cli/sextant), BUILD (1; 0 uses the
# binaries as they are), DOCS (1 for EVENTS ≥ 100M, else 0), RETENTION_PER_COHORT (1: also time
# ClickHouse's retention() one query per cohort).
#
# Data is generated once per parameter set into DATA_ROOT/e<EVENTS>-u<USERS>-d<DAYS>-s<SEED>-<START>/
# (events.tsv, ~31 B/event) and both stores are loaded there once and reused by later runs (their
# load times are kept in sextant-load.json / clickhouse-load.json and reported again).
# Method and caveats: docs/benchmarks.md, "Analysis queries".
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
log() { echo "[analysis-bench] $*" >&2; }

if [[ $(id -u) != 0 ]]; then
  echo "analysis_bench.sh: cold runs drop the page cache and need root (or set COLD=0)" >&2
  [[ ${COLD:-1} == 0 ]] || exit 2
fi
command -v clickhouse-server >/dev/null || \
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clickhouse-server clickhouse-client >/dev/null

if [[ ${BUILD:-1} == 1 ]]; then
  cmake -S "$ROOT/bench" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$ROOT/build-bench" --target analysis_gen analysis_load -j"$(nproc)" >/dev/null
  if [[ -z ${SEXTANT:-} ]]; then
    cmake -S "$ROOT" -B "$ROOT/build-release" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$ROOT/build-release" --target sextant -j"$(nproc)" >/dev/null
  fi
fi

args=""
for v in EVENTS USERS DAYS SEED START HOT_RUNS COLD SYSTEMS CH_ORDER RELOAD; do
  [[ -n ${!v:-} ]] && args+="$v=${!v} "
done
export BENCH_COMMAND="${args}bench/analysis_bench.sh"
log "$BENCH_COMMAND"
exec python3 "$ROOT/bench/analysis/run.py"
