#!/usr/bin/env bash
# The device side on ARM64: cross-builds protocol, client-core, the C API and their tests
# with Debian's cross toolchain and arm64 development packages (build-arm64/, the
# client-only build), and runs them under qemu-user: the protocol and replica tests, and the
# C API test against a libreta-server built for this machine on loopback.
#
#   scripts/arm64.sh     (as root on Debian 12; installs what it needs)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  crossbuild-essential-arm64 qemu-user pkg-config cmake ninja-build file \
  libsqlite3-dev:arm64 libssl-dev:arm64 libzstd-dev:arm64 libboost-dev:arm64 \
  libboost-system-dev:arm64 nlohmann-json3-dev catch2 >/dev/null

# The server the C API test talks to runs natively (the build scripts/test.sh makes).
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIBRETA_WERROR=ON >/dev/null
cmake --build build -j2 --target libreta-server

cmake -S . -B build-arm64 -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIBRETA_WERROR=ON \
  -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/aarch64-linux-gnu.cmake" -DLIBRETA_CLIENT_ONLY=ON \
  -DLIBRETA_NATIVE_SERVER="$PWD/build/server/libreta-server" >/dev/null
cmake --build build-arm64 -j2
file -L build-arm64/c-api/liblibreta.so.1 | grep -q 'ARM aarch64'
# qemu-user runs every test program (CMAKE_CROSSCOMPILING_EMULATOR).
ctest --test-dir build-arm64 --output-on-failure -j2
