#!/usr/bin/env bash
# The whole test suite from nothing: installs packages, builds with warnings as errors and ASan+UBSan, and runs
# every test (unit tests and integration tests against real PostgreSQL clusters the tests start themselves).
# Usage: bash scripts/test.sh [ctest args, e.g. -L unit]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

build=build-test
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DWALFERRY_WERROR=ON -DWALFERRY_SANITIZE=ON >/dev/null
cmake --build "$build"

# Test clusters live under a directory of this run's own (the harness honours TMPDIR), so that whatever happens
# to a test binary, the servers it started are stopped and removed here, and nobody else's are touched.
run_tmp=$(mktemp -d /tmp/walferry-run-XXXXXX)
chmod 755 "$run_tmp"
cleanup() {
  pkill -9 -f -- "-D $run_tmp/" 2>/dev/null || true
  rm -rf "$run_tmp"
}
trap cleanup EXIT
export TMPDIR="$run_tmp"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure --timeout 1800 "$@"
