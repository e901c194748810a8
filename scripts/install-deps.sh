#!/usr/bin/env bash
# Installs the Debian 12 packages libreta needs to build, run and test.
# Called by README.md's commands and by .ci/run; safe to run again.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost-dev libboost-system-dev
  libsqlite3-dev sqlite3
  nlohmann-json3-dev catch2 libcli11-dev
  libssl-dev zlib1g-dev libzstd-dev
  libtomlplusplus-dev  # the server's configuration file
  libjemalloc-dev  # the server's allocator
  clang-14 libclang-rt-14-dev  # the libFuzzer targets (scripts/fuzz.sh)
  chromium fonts-dejavu-core  # the browser tests (tests/browser)
)
# Node.js and npm for the browser tests' driver: Debian's, unless the machine already has
# them (another install of Node.js would conflict with Debian's npm package).
if ! command -v npm >/dev/null 2>&1; then packages+=(nodejs npm); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The browser tests' npm packages, pinned by tests/browser/package-lock.json.
if [ ! -d "$(dirname "$0")/../tests/browser/node_modules" ]; then
  (cd "$(dirname "$0")/../tests/browser" && npm ci --no-audit --no-fund)
fi
