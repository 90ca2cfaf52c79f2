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

source scripts/test_env.sh
cd "$build"
ctest --output-on-failure --timeout 1800 "$@"
