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

# A failed seed's log (every walferry run's output, its schema and sets) outlives the run.
before_cleanup() {
  for f in "$run_tmp"/walferry-matrix_*.log; do
    if [ -e "$f" ]; then cp "$f" /tmp/ && echo "matrix: kept /tmp/$(basename "$f")"; fi
  done
}
source scripts/test_env.sh
export WALFERRY_MATRIX_SEEDS=${1:-${WALFERRY_MATRIX_SEEDS:-30}}
export WALFERRY_MATRIX_FIRST=${2:-${WALFERRY_MATRIX_FIRST:-1}}
"$build/tests/matrix_test"
