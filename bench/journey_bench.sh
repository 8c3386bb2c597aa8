#!/usr/bin/env bash
# Journey runtime benchmark: how fast the journey engine reacts to events, what waiting customers
# cost, and how fast a campaign goes out under caps. Three parts (PARTS), each on a fresh data
# directory and a fresh `sextant serve` (release build):
#   trigger  1,000 running journeys, `event` entries over ~200 names with `where` conditions,
#            nodes wait 30d → exit; generated events streamed through POST /records from
#            CONNECTIONS connections, with the journeys live and with none (ratio); p50/p99 of
#            ingest commit → decision from the delta of /metrics `sextant_journey_decision_seconds`,
#            at full speed (the machine saturated) and, in a third run, with the events offered
#            steadily at PACED_RATE events/s (the latency at the throughput target).
#            Once per DURABILITY (relaxed, strict). Targets ≥ 200 K events/s, p99 ≤ 10 ms.
#   timers   N customers (a rule segment over N users) enter a `once` journey whose first node
#            waits 30 days (--clock simulated, POST /admin/clock): entries/s, RSS and state-store
#            disk per waiting customer (live, and after a restart), then the timers fire.
#            Target ≤ 200 B per waiting customer.
#   send     a `once` journey on an N-customer segment: send → send on a webhook channel to a
#            loopback C++ receiver (measured alone first) under a project cap of 1 touch/day:
#            cap-checked decisions/s and delivered/s. Targets ≥ 100 K/s and ≥ 20 K/s.
# Prints one table with targets and the public anchors of /work/shared/anchors/performance.md
# (Flink Nexmark per core, Dittofeed's 120 s recompute, Braze rate limits) and, for full-size
# runs only, writes it to docs/benchmarks.md between <!-- journey-bench --> and
# <!-- /journey-bench -->.
#
#   bench/journey_bench.sh                 # full: 1,000 journeys × 6 M events; 1, 2, 4, 10 M
#                                          # waiting customers; 0.5, 1, 5 M send (sizes that
#                                          # would exceed PART_SECONDS / MEM_LIMIT_GB are skipped)
#   SMOKE=1 bench/journey_bench.sh         # smoke (~2–3 min): 300 K events, 50 K waiting, 10 K send
#   PARTS=trigger DURABILITY=relaxed bench/journey_bench.sh
#
# Knobs (environment):
#   PARTS (trigger,timers,send), SMOKE (0), DURABILITY (relaxed,strict)
#   part 1: JOURNEYS (1000), JOURNEY_NAMES (200), OTHER_NAMES (200), JOURNEY_SHARE (0.5),
#           EVENTS (6000000; smoke 300000), STREAM_USERS (1000000; smoke 100000),
#           CONNECTIONS (4), BATCH (1000), STREAM_SECONDS (120: the stream stops there),
#           PACED_RATE (200000; smoke 20000; 0 = no paced run), TRIGGER_RUNS (none,live,paced)
#   part 2: TIMER_USERS (1000000,2000000,4000000,10000000; smoke 50000) — a ladder, FIRE_TIMERS (1)
#   part 3: SEND_USERS (500000,1000000,5000000; smoke 10000) — a ladder
#   PART_SECONDS (900)   bound of one timed step (the clock request that enters / sends); a step
#                        that exceeds it is stopped (server killed) and reported as timed out
#   MEM_LIMIT_GB (18)    a ladder size whose projected peak RSS exceeds this is skipped
#   ATTEMPTS (3)         part 1: repeat a run when other processes used ≥ 0.3 cores during it
#   QUIET_WAIT (600)     before each measured step, wait up to this long for other processes
#                        (e.g. a concurrent compile) to use < 0.25 cores; logged either way
#   PROFILE (0)          1: perf record + gdb stacks + per-thread CPU of the server per step
#                        (files in DATA_ROOT/run/; gdb pauses the server briefly)
#   SEED (42), DATA_ROOT (/work/bench-data/journeys), KEEP_WORK (0),
#   SEXTANT (binary; default build-jbench/src/cli/sextant), BUILD (1; 0 uses the binaries as
#   they are), DOCS (auto: only a full-size run writes docs/benchmarks.md; 1 forces, 0 never)
# Tools: bench/journeys/ (README.md there), built standalone into DATA_ROOT/build-tools.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
log() { echo "[journey-bench] $*" >&2; }

DATA_ROOT=${DATA_ROOT:-/work/bench-data/journeys}
export DATA_ROOT
if [[ ${BUILD:-1} == 1 ]]; then
  cmake -S "$ROOT/bench/journeys" -B "$DATA_ROOT/build-tools" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$DATA_ROOT/build-tools" -j"$(nproc)" >/dev/null
  if [[ -z ${SEXTANT:-} ]]; then
    cmake -S "$ROOT" -B "$ROOT/build-jbench" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    ninja -C "$ROOT/build-jbench" sextant >/dev/null
  fi
fi

args=""
for v in SMOKE PARTS DURABILITY JOURNEYS JOURNEY_NAMES OTHER_NAMES JOURNEY_SHARE EVENTS STREAM_USERS \
         CONNECTIONS BATCH STREAM_SECONDS PACED_RATE TRIGGER_RUNS TIMER_USERS SEND_USERS FIRE_TIMERS PART_SECONDS PROFILE SEED; do
  [[ -n ${!v:-} ]] && args+="$v=${!v} "
done
export BENCH_COMMAND="${args}bench/journey_bench.sh"
log "$BENCH_COMMAND"
exec python3 "$ROOT/bench/journeys/run.py"
