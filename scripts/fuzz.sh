#!/usr/bin/env bash
# Builds the pgoutput decoder's libFuzzer target with clang (ASan+UBSan, tests/fuzz/CMakeLists.txt, its own build
# directory) and runs it from the checked-in corpus (tests/fuzz/corpus/, read only: new inputs go to a scratch
# directory). Fails on a crash, a sanitizer report or a leak; the reproducer is left in the build directory.
# Usage: bash scripts/fuzz.sh [BUILD_DIR] [SECONDS]   (defaults: build-fuzz, 60)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build-fuzz}"
seconds="${2:-60}"

cmake -S "$root/tests/fuzz" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build "$build"

scratch="$build/new-inputs"
rm -rf "$scratch"
mkdir -p "$scratch"
cd "$build"  # crash-* and leak-* reproducers land here
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
"$build/pgoutput_decoder_fuzz" -max_total_time="$seconds" -print_final_stats=1 -max_len=8192 \
  "$scratch" "$root/tests/fuzz/corpus"
