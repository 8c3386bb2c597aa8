#!/usr/bin/env bash
# Runs every test:
#   1. optimised build (warnings are errors): unit tests with ctest (including fuzz-corpus
#      replays), then the black-box and end-to-end suites (real binary, real SDKs, real headless
#      Chromium) and the differential test of the analysis engine against ClickHouse 18.16
#      (tests/differential/) with Node's test runner; the console's unit tests (Vitest);
#   2. the same unit tests and suites once more on an AddressSanitizer + UndefinedBehaviorSanitizer
#      build (any report aborts the test that hit it). SEXTANT_SKIP_SANITIZERS=1 skips this stage.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --all   # --all: Chromium and clickhouse-server for the test suites
jobs=$(nproc)

# Unity builds (a target's sources compiled a few at a time as one unit): the two from-scratch
# builds of a clean clone take about 40 % less CPU time, mostly Boost.Beast and simdjson parsed
# and instantiated once per unit instead of once per file. Files of one target must not define
# the same name in their anonymous namespaces (shared helpers live in headers, e.g. common/clock.h).
unity=-DCMAKE_UNITY_BUILD=ON
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEXTANT_WERROR=ON $unity >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

scripts/build_console.sh          # the console e2e suites drive web/dist in Chromium
(cd web && npm test --silent)     # the console's unit tests (Vitest)
(cd tests && npm ci --no-audit --no-fund --loglevel=error)
(cd tests && SEXTANT_BIN="$PWD/../build/src/cli/sextant" node --test --test-concurrency=1)

if [[ "${SEXTANT_SKIP_SANITIZERS:-0}" != 1 ]]; then
  echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
  export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSEXTANT_SANITIZE=ON $unity >/dev/null
  cmake --build build-asan -j"$jobs"
  ctest --test-dir build-asan --output-on-failure -j"$jobs"
  # The console suites test the web UI in Chromium; the server they drive is covered by the
  # other suites, so the sanitizer pass skips them (they add minutes, not coverage).
  (cd tests && SEXTANT_BIN="$PWD/../build-asan/src/cli/sextant" node --test --test-concurrency=1 \
     $(find . -name '*.test.js' -not -path './node_modules/*' -not -path './e2e/console*' | sort))
fi
