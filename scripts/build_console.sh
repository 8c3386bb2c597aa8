#!/usr/bin/env bash
# Builds the web console: npm ci (when web/node_modules does not match web/package-lock.json)
# and vite build into web/dist, which `sextant serve` serves at / (it finds web/dist from the
# binary's directory upwards, or take --console-dir web/dist).
set -euo pipefail
cd "$(dirname "$0")/../web"

stamp=node_modules/.package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi
npm run build --silent
echo "build_console: web/dist built"
