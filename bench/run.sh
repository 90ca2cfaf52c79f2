#!/usr/bin/env bash
# bench/run.sh: every comparison in one command, one table at the end: the full load (bench/load.sh) and the CDC
# catch-up (bench/cdc.sh), each method's time and walferry's ratio to it, with the machine and versions.
# Usage: bash bench/run.sh   (BENCH_SCALE, JOBS, CDC_TXNS, CLIENTS as in the two scripts)
set -euo pipefail
cd "$(dirname "$0")"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "running the load comparison (bench/load.sh)..." >&2
bash ./load.sh > "$out/load.txt"
echo "running the CDC comparison (bench/cdc.sh)..." >&2
bash ./cdc.sh > "$out/cdc.txt"
echo
echo "== walferry benchmarks =="
grep -m1 '^machine:' "$out/load.txt"
echo
echo "-- full load --"
sed -n '/^jobs:/,$p' "$out/load.txt"
echo
echo "-- CDC catch-up --"
sed -n '/^backlog:/,$p' "$out/cdc.txt"
