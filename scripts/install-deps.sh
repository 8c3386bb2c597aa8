#!/usr/bin/env bash
# Installs what building and testing Sextant needs on Debian 12, as root. Idempotent: only
# missing packages are installed, and `apt-get update` runs only when something is missing.
#   --with-browser  also Chromium (browser SDK suite)
#   --all           also Chromium and ClickHouse 18.16 (differential test, benchmarks);
#                   scripts/test.sh uses --all
set -euo pipefail

packages=(build-essential cmake ninja-build pkg-config curl ca-certificates
          libboost-dev libsimdjson-dev librocksdb-dev libzstd-dev liblz4-dev libcli11-dev
          zlib1g-dev libgtest-dev libroaring-dev libssl-dev libargon2-dev libjemalloc-dev)
if [[ "${1:-}" == "--with-browser" || "${1:-}" == "--all" ]]; then packages+=(chromium); fi
if [[ "${1:-}" == "--all" ]]; then packages+=(clickhouse-server clickhouse-client python3-aiosmtpd); fi
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
# nodejs/npm may come from outside Debian (e.g. a preinstalled Node 20): the commands count.
filtered=()
for package in "${missing[@]}"; do
  case "$package" in
    nodejs) command -v node >/dev/null 2>&1 || filtered+=("$package") ;;
    npm) command -v npm >/dev/null 2>&1 || filtered+=("$package") ;;
    *) filtered+=("$package") ;;
  esac
done
if ((${#filtered[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: need root to install: ${filtered[*]}" >&2
    exit 1
  fi
  echo "install-deps: installing ${filtered[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${filtered[@]}"
fi
