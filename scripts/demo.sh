#!/usr/bin/env bash
# The demo from nothing: installs packages, builds walferry (release), and runs `walferry demo`, which starts a
# local source and target PostgreSQL cluster, fills the source with a sample application database and migrates it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DWALFERRY_TESTS=OFF >/dev/null
cmake --build build-release >/dev/null
exec build-release/walferry demo "$@"
