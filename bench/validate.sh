#!/usr/bin/env bash
# bench/validate.sh: times, on the same two clusters in one run, a comparison of a loaded copy with its source:
#   a plain script (md5 of every row's text, table by table, on the source and then on the target, then compared)
#   and walferry validate; first with the copy equal, then with a few rows changed on the target (walferry must
#   find exactly those). Prints each time and walferry's ratio to the script.
# Usage: bash bench/validate.sh   (env BENCH_SCALE: pgbench scale, default 30; JOBS: walferry --jobs, default nproc)
# Not a test: numbers depend on the machine. Target (issue 11): walferry at least 2x faster than the script on equal
# data, and faster still when only a few rows differ.
set -euo pipefail
cd "$(dirname "$0")"
source ./lib.sh
source ./dataset.sh
build_walferry
JOBS=${JOBS:-$(nproc)}

clusters_with_dataset
"$PGBIN/createdb" -h 127.0.0.1 -p "$dst" -U postgres bench
"$WALFERRY" load --source "$(uri "$src" bench)" --target "$(uri "$dst" bench)" --log-level warn >/dev/null
# The load's slot is not needed: without CDC, validate compares the target as it is.
"$WALFERRY" cleanup --source "$(uri "$src" bench)" --target "$(uri "$dst" bench)" --control-schema \
  --log-level warn >/dev/null

TABLES=(pgbench_accounts pgbench_branches pgbench_tellers pgbench_history profiles blobs events)
# The script a careful person would write: every row's text hashed, sorted, hashed again, per table and server.
script_digest() {  # script_digest PORT: one line per table
  for t in "${TABLES[@]}"; do
    "$PGBIN/psql" -X -At -h 127.0.0.1 -p "$1" -U postgres -d bench \
      -c "SELECT '$t', md5(string_agg(h, '' ORDER BY h)) FROM (SELECT md5(x::text) AS h FROM $t x) s"
  done
}
plain_script() { [ "$(script_digest "$src")" = "$(script_digest "$dst")" ]; }
declare -A seconds
time_it() {  # time_it NAME COMMAND...: exit status ignored (a difference is an expected outcome here)
  local name=$1; shift
  "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$src" -U postgres -d postgres -c CHECKPOINT
  "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$dst" -U postgres -d postgres -c CHECKPOINT
  echo "timing $name..." >&2
  local t0; t0=$(date +%s%N)
  "$@" >"$BENCH_TMP/last.out" 2>&1 || true
  seconds[$name]=$(elapsed "$t0")
  echo "  $name: ${seconds[$name]} s" >&2
}
walferry_validate() {
  "$WALFERRY" --json --log-level warn validate --source "$(uri "$src" bench)" --target "$(uri "$dst" bench)" \
    --jobs "$JOBS"
}

time_it "script, equal" plain_script
time_it "walferry validate, equal" walferry_validate
grep -q '"equal": true' "$BENCH_TMP/last.out" || { echo "walferry validate found differences in an equal copy" >&2; exit 1; }

"$PGBIN/psql" -X -q -h 127.0.0.1 -p "$dst" -U postgres -d bench -c \
  "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid IN (17, 1500000, 2999999);
   DELETE FROM profiles WHERE id = 4242; UPDATE events SET body = body || '{\"z\": 1}' WHERE id = 77"
time_it "script, 5 rows differ" plain_script
time_it "walferry validate, 5 rows differ" walferry_validate
found=$(grep -c '"kind":' "$BENCH_TMP/last.out" || true)
[ "$found" = 5 ] || { echo "walferry validate reported $found differences, not 5" >&2; cat "$BENCH_TMP/last.out" >&2; exit 1; }

echo
machine_line
echo "dataset: $(db_size "$src" bench) (pgbench scale ${BENCH_SCALE:-30} + jsonb/bytea tables), walferry --jobs $JOBS"
printf '%-36s %10s %16s\n' "method" "seconds" "walferry speedup"
for case in "equal" "5 rows differ"; do
  s=${seconds["script, $case"]} w=${seconds["walferry validate, $case"]}
  printf '%-36s %10s\n' "script, $case" "$s"
  printf '%-36s %10s %15.2fx\n' "walferry validate, $case" "$w" "$(python3 -c "print($s / $w)")"
done
