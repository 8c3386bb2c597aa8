#!/usr/bin/env bash
# Fuzzing campaign: builds every libFuzzer target with clang (ASan + libFuzzer, build-fuzz/),
# runs each for SECONDS (default 300) from its checked-in corpus, two at a time, and prints a
# Markdown table (executions, coverage, peak RSS, crashes). New units go to a scratch
# directory; crash reproducers are left in $WORK/artifacts (copy them into
# tests/fuzz/corpus/<target>/ as crash-<sha1>: the replay test then keeps them fixed).
#
#   bench/fuzz/run.sh [SECONDS] [--targets fuzz_a,fuzz_b] [--out docs/reliability.md]
#
# With --out, the table replaces the block between <!-- fuzz --> and <!-- /fuzz --> there.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_TARGET=300
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --targets) IFS=, read -r -a ONLY <<<"$2"; shift 2 ;;
    *) SECONDS_PER_TARGET="$1"; shift ;;
  esac
done
TARGETS=(fuzz_sensors_payload fuzz_native_batch fuzz_segment fuzz_journey_definition
         fuzz_audience_definition fuzz_query_spec fuzz_csv_import fuzz_pii_masking)
if [ -n "${ONLY+x}" ]; then TARGETS=("${ONLY[@]}"); fi
WORK=${WORK:-/tmp/sextant-fuzz}
rm -rf "$WORK" && mkdir -p "$WORK/artifacts"

if [ ! -f build-fuzz/CMakeCache.txt ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSEXTANT_FUZZ=ON >/dev/null
fi
cmake --build build-fuzz --target "${TARGETS[@]}" -j2 >/dev/null

run_one() {
  local target=$1
  mkdir -p "$WORK/$target"
  "./build-fuzz/tests/fuzz/$target" -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 \
    -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$WORK/artifacts/$target-" "$WORK/$target" "tests/fuzz/corpus/$target" \
    >"$WORK/$target.log" 2>&1 || true
}
for ((i = 0; i < ${#TARGETS[@]}; i += 2)); do
  run_one "${TARGETS[$i]}" &
  [ $((i + 1)) -lt ${#TARGETS[@]} ] && run_one "${TARGETS[$((i + 1))]}" &
  wait
done

stat() { grep -o "stat::$2: *[0-9]*" "$WORK/$1.log" | tail -1 | grep -o '[0-9]*$' || echo 0; }
{
  echo "Command: \`bench/fuzz/run.sh $SECONDS_PER_TARGET\` — $(date -u +%F), $(nproc) cores, $(clang --version | head -1 | sed 's/ (.*//')," \
       "ASan + libFuzzer, two targets at a time, \`-max_len=65536 -rss_limit_mb=2048 -timeout=10\`."
  echo
  echo "| target | seconds | executions | exec/s | coverage (edges) | peak RSS MB | crashes, leaks, timeouts |"
  echo "|---|---:|---:|---:|---:|---:|---|"
  total=0
  for target in "${TARGETS[@]}"; do
    execs=$(stat "$target" number_of_executed_units)
    rss=$(stat "$target" peak_rss_mb)
    cov=$(grep -o 'cov: [0-9]*' "$WORK/$target.log" | tail -1 | grep -o '[0-9]*' || echo 0)
    found=$(ls "$WORK/artifacts" | grep -c "^$target-" || true)
    total=$((total + execs))
    echo "| \`${target#fuzz_}\` | $SECONDS_PER_TARGET | $execs | $((execs / SECONDS_PER_TARGET)) | $cov | $rss | $([ "$found" = 0 ] && echo none || echo "**$found** (see $WORK/artifacts)") |"
  done
  echo
  echo "Total: $total executions in $(( ${#TARGETS[@]} * SECONDS_PER_TARGET / 60 )) target-minutes."
} | tee "$WORK/summary.md"

if [ -n "$OUT" ]; then
  python3 - "$OUT" "$WORK/summary.md" <<'PY'
import re, sys
doc, block = open(sys.argv[1]).read(), open(sys.argv[2]).read().strip()
new = "<!-- fuzz -->\n" + block + "\n<!-- /fuzz -->"
doc = re.sub(r"<!-- fuzz -->.*?<!-- /fuzz -->", lambda m: new, doc, flags=re.S) if "<!-- fuzz -->" in doc else doc + "\n" + new + "\n"
open(sys.argv[1], "w").write(doc)
PY
fi
ls "$WORK/artifacts" | grep -q . && exit 1 || exit 0
