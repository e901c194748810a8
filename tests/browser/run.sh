#!/usr/bin/env bash
# Runs the browser tests of the seller's app (headless Chromium) against the programs of a
# build directory: bash tests/browser/run.sh BUILD_DIR
# LIBRETA_UPDATE_DOC_IMAGES=1 also refreshes the app's screenshots in docs/images/.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build="$(cd "$1" && pwd)"
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

for program in tools/libreta/libreta server/libreta-server tools/faultproxy/libreta-faultproxy; do
  if [ ! -x "$build/$program" ]; then
    echo "run.sh: $build/$program is missing: build the project first" >&2
    exit 1
  fi
done

# The pinned packages, once; package-lock.json says which.
if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi

export LIBRETA_BUILD_DIR="$build"
exec node --test --test-reporter=spec seller_app.test.js office.test.js
