#!/usr/bin/env bash
# Runs every test: unit tests (ctest, including fuzz-corpus replays), then the black-box and
# end-to-end suites (real binary, real SDKs, real headless Chromium) with Node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --with-browser
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEXTANT_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)"

cd tests
npm ci --no-audit --no-fund --loglevel=error
SEXTANT_BIN="$PWD/../build/src/cli/sextant" node --test --test-concurrency=1
