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

# Servers started by tests must not outlive the run, whatever happens to a test binary.
cleanup() { pkill -u postgres -f 'walferry-(source|target|pg|demo)' 2>/dev/null || true; }
trap cleanup EXIT

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure --timeout 1800 "$@"
