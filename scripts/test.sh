#!/usr/bin/env bash
# Builds libreta (warnings as errors) and runs every test through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIBRETA_WERROR=ON
cmake --build build -j2
ctest --test-dir build --output-on-failure -j2
