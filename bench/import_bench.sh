#!/usr/bin/env bash
# Import throughput: converts a synthetic 1M-row transaction CSV (quoted fields, embedded commas
# and quotes, Chinese text) with `sextant import`: convert-only (--dry-run), end to end against a
# fresh `sextant serve --durability strict` on loopback, and a re-run (all duplicates).
#
#   bench/import_bench.sh [--rows 1000000] [--sextant BIN] [--connections 8] [--batch 2000]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROWS=1000000
SEXTANT=$ROOT/build-release/src/cli/sextant
CONNECTIONS=8
BATCH=2000
while [[ $# -gt 0 ]]; do
  case $1 in
    --rows) ROWS=$2; shift 2 ;;
    --sextant) SEXTANT=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
if [[ ! -x $SEXTANT ]]; then
  cmake -S "$ROOT" -B "$ROOT/build-release" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$ROOT/build-release" --target sextant -j"$(nproc)"
fi
WORK=$(mktemp -d /tmp/sextant-import-bench.XXXXXX)
SX_PID=
cleanup() {
  if [[ -n $SX_PID ]] && kill -0 "$SX_PID" 2>/dev/null; then kill -TERM "$SX_PID"; wait "$SX_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

python3 - "$WORK/tx.csv" "$ROWS" <<'PY'
import random, datetime, sys
random.seed(1)
base = datetime.datetime(2026, 8, 1)
types = ["deposit", "withdraw", "subscribe_fund", "redeem_fund"]
chans = ["app", "web", "branch", "wechat"]
with open(sys.argv[1], "w", newline="") as f:
    f.write("cust_no,tx_time,tx_type,amount,fund_code,channel,memo\n")
    for i in range(int(sys.argv[2])):
        t = base + datetime.timedelta(seconds=i * 7)
        memo = '"备注, 含逗号 ""引号"""' if i % 50 == 0 else "正常"
        f.write(f"C{10000000000 + random.randrange(200000)},{t:%Y-%m-%d %H:%M:%S},"
                f"{random.choice(types)},{random.randrange(100, 500000) / 100},"
                f"{random.randrange(1000000):06d},{random.choice(chans)},{memo}\n")
PY
cat > "$WORK/mapping.json" <<'JSON'
{"id_column": "cust_no", "event_column": "tx_type", "time_column": "tx_time",
 "time_format": "%Y-%m-%d %H:%M:%S", "types": {"amount": "NUMBER", "fund_code": "STRING"},
 "rename": {"fund_code": "fund_id"}}
JSON
echo "input: $(stat -c %s "$WORK/tx.csv") bytes, $ROWS rows"
IMPORT=("$SEXTANT" import --project default --kind events --mapping "$WORK/mapping.json"
        --progress never --connections "$CONNECTIONS" --batch "$BATCH")

echo "== convert only"
"${IMPORT[@]}" --dry-run "$WORK/tx.csv" >/dev/null

(exec "$SEXTANT" serve --data-dir "$WORK/data" --listen 127.0.0.1:0 --durability strict \
  --admin-token bench-token >"$WORK/serve.log" 2>&1) &
SX_PID=$!
URL=
for _ in $(seq 1 100); do
  URL=$(grep -o 'listening on http://[0-9.:]*' "$WORK/serve.log" | sed 's/listening on //') || true
  [[ -n $URL ]] && break
  sleep 0.1
done
[[ -n $URL ]] || { echo "server did not start" >&2; cat "$WORK/serve.log" >&2; exit 1; }
echo "== end to end ($URL, strict durability)"
"${IMPORT[@]}" --server "$URL" --token bench-token --errors "$WORK/errors.txt" "$WORK/tx.csv"
echo "== re-run (everything is a duplicate)"
"${IMPORT[@]}" --server "$URL" --token bench-token --errors "$WORK/errors2.txt" "$WORK/tx.csv"
