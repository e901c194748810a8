#!/usr/bin/env bash
# The C API as an app developer gets it: installs the build's C library into a temporary
# prefix, compiles c_api_test.c against the installed header through pkg-config (C99,
# -Wall -Wextra -pedantic -Werror), starts libreta-server on an ephemeral loopback port with
# a seller's and a manager's token, and runs the test against it.
#
#   run_c_api_test.sh BUILD_DIR SERVER_BINARY [EXTRA_CFLAGS...]
#
# EXTRA_CFLAGS carry the build's sanitizer flags, so that the program is checked under them
# as the library is. From the environment: CC, the C compiler (cc); for a cross build,
# LIBRETA_EMULATOR runs the programs (qemu-aarch64) and LIBRETA_TOOLCHAIN_FILE is CMake's.
set -euo pipefail

build=$1
server=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
cc=${CC:-cc}
# shellcheck disable=SC2206  # the emulator command is meant to split (empty: none)
run=(${LIBRETA_EMULATOR:-})
server_pid=
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
pc_dir=$(dirname "$(find "$work/prefix" -name libreta.pc)")
export PKG_CONFIG_PATH=$pc_dir
libdir=$(pkg-config --variable=libdir libreta)
# shellcheck disable=SC2046  # pkg-config's flags are meant to split
"$cc" -std=c99 -Wall -Wextra -pedantic -Werror "$@" "$here/c_api_test.c" -o "$work/c_api_test" \
  $(pkg-config --cflags --libs libreta) -pthread "-Wl,-rpath,$libdir"

# The example a newcomer builds first (examples/c), in the same way, run offline.
# shellcheck disable=SC2046
"$cc" -std=c99 -Wall -Wextra -pedantic -Werror "$@" "$here/../../examples/c/hello_book.c" \
  -o "$work/hello_book" $(pkg-config --cflags --libs libreta) "-Wl,-rpath,$libdir"
"${run[@]}" "$work/hello_book" "$work/hello.db" | grep -q "created customer"

# And through the CMake package: find_package(libreta) and the target libreta::libreta.
mkdir "$work/cmake-app"
cp "$here/../../examples/c/hello_book.c" "$work/cmake-app/"
cat >"$work/cmake-app/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(hello_book C)
find_package(libreta 0.1 REQUIRED)
add_executable(hello_book hello_book.c)
target_link_libraries(hello_book PRIVATE libreta::libreta)
CMAKE
cmake -S "$work/cmake-app" -B "$work/cmake-app/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$*" \
  ${LIBRETA_TOOLCHAIN_FILE:+"-DCMAKE_TOOLCHAIN_FILE=$LIBRETA_TOOLCHAIN_FILE"} >/dev/null
cmake --build "$work/cmake-app/build" >/dev/null
"${run[@]}" "$work/cmake-app/build/hello_book" "$work/hello-cmake.db" | grep -q "created customer"

db=$work/server.db
seller=$("$server" token create --db "$db" --user ana --role seller 2>/dev/null)
manager=$("$server" token create --db "$db" --user office --role manager 2>/dev/null)
"$server" serve --db "$db" --listen 127.0.0.1:0 --threads 2 >"$work/server.log" 2>&1 &
server_pid=$!

# The server logs "listen=127.0.0.1:PORT" once it accepts connections.
port=
for _ in $(seq 1 300); do
  port=$(grep -o 'listen=127\.0\.0\.1:[0-9]*' "$work/server.log" | head -1 | cut -d: -f2 || true)
  [[ -n "$port" ]] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "libreta-server exited at start:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ -z "$port" ]]; then
  echo "libreta-server did not start within 30 s" >&2
  cat "$work/server.log" >&2
  exit 1
fi

mkdir "$work/devices"
if ! "${run[@]}" "$work/c_api_test" "ws://127.0.0.1:$port/sync" "$seller" "$manager" "$work/devices"; then
  echo "---- server log" >&2
  tail -50 "$work/server.log" >&2
  exit 1
fi
