#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/) and runs each for a bounded time,
# starting from its seed corpus (tests/fuzz/corpus/<target>/). Fails on any finding: a crash,
# a sanitizer report, a leak, a broken invariant, or an input slower than the time limit.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60; e.g. 3600 for a long run)
#
# Findings are written to build-fuzz/findings/<target>/; replay one with
#   build-fuzz/tests/fuzz/fuzz_<target> FILE
# The inputs each run discovers are kept in build-fuzz/corpus/<target>/ and make the next run
# start further; the seed corpus in the source tree is never written.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2
  exit 2
fi

build=build-fuzz
# target  max input bytes  dictionary
targets=(
  "messages   16384 tests/fuzz/messages.dict"
  "csv        8192  tests/fuzz/csv.dict"
  "csv_import 4096  tests/fuzz/csv.dict"
)

CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLIBRETA_FUZZ=ON -DLIBRETA_BUILD_TESTS=OFF -DLIBRETA_WERROR=ON >/dev/null
names=()
for entry in "${targets[@]}"; do
  read -r name _ _ <<<"$entry"
  names+=("fuzz_$name")
done
cmake --build "$build" -j2 --target "${names[@]}"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"

failed=()
for entry in "${targets[@]}"; do
  read -r name max_len dict <<<"$entry"
  corpus="$build/corpus/$name"
  findings="$build/findings/$name"
  mkdir -p "$corpus" "$findings"
  echo "fuzz: $name for ${seconds}s (max_len $max_len)"
  # The working corpus first (new inputs go there), then the seeds, read only.
  if ! "$build/tests/fuzz/fuzz_$name" "$corpus" "tests/fuzz/corpus/$name" \
      -dict="$dict" -max_len="$max_len" -max_total_time="$seconds" -timeout=30 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/" \
      >"$build/fuzz-$name.log" 2>&1; then
    failed+=("$name")
    echo "fuzz: $name FOUND A PROBLEM; the log is $build/fuzz-$name.log:" >&2
    tail -n 60 "$build/fuzz-$name.log" >&2
  else
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$build/fuzz-$name.log" |
      sed "s/^/fuzz: $name /"
  fi
done

if ((${#failed[@]})); then
  echo "fuzz: findings in: ${failed[*]} (inputs in $build/findings/)" >&2
  exit 1
fi
echo "fuzz: no findings"
