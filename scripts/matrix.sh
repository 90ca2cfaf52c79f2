#!/usr/bin/env bash
# The generated scenario matrix as a soak: N seeds (default 30) of tests/matrix/matrix_test.cc, each a whole
# migration (load, CDC killed at random points, cutover) ended by an independent comparison; prints the coverage of
# the catalogue at the end. Builds like scripts/test.sh (same build directory).
#   bash scripts/matrix.sh [N] [FIRST]        seeds FIRST .. FIRST+N-1 (FIRST default 1)
#   WALFERRY_MATRIX_SEED=S bash scripts/matrix.sh   just seed S (what a failure prints)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

build=build-test
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DWALFERRY_WERROR=ON -DWALFERRY_SANITIZE=ON >/dev/null
cmake --build "$build" --target walferry matrix_test

run_tmp=$(mktemp -d /tmp/walferry-matrix-XXXXXX)
chmod 755 "$run_tmp"
cleanup() {
  # A failed seed's log (every walferry run's output, its schema and sets) outlives the run.
  for f in "$run_tmp"/walferry-matrix_*.log; do
    [ -e "$f" ] && cp "$f" /tmp/ && echo "matrix: kept /tmp/$(basename "$f")"
  done
  pkill -9 -f -- "-D $run_tmp/" 2>/dev/null || true
  rm -rf "$run_tmp"
}
trap cleanup EXIT
export TMPDIR="$run_tmp"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export WALFERRY_MATRIX_SEEDS=${1:-${WALFERRY_MATRIX_SEEDS:-30}}
export WALFERRY_MATRIX_FIRST=${2:-${WALFERRY_MATRIX_FIRST:-1}}
"$build/tests/matrix_test"
