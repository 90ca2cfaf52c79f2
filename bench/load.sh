#!/usr/bin/env bash
# bench/load.sh: times a full load of the same dataset, on the same two clusters in one run, with
#   pg_dump | pg_restore, pg_dump -Fd -j N + pg_restore -j N, native logical replication's initial table sync,
#   pgcopydb clone (when installed), and walferry load; prints each time and walferry's ratio to it. Two datasets:
#   big tables (pgbench + jsonb/bytea), and many small tables (MANY_TABLES tables of 100 rows in 4 sets).
# Usage: bash bench/load.sh   (env BENCH_SCALE: pgbench scale, default 30; JOBS: parallelism, default nproc;
#                              MANY_TABLES: default 2000, 0 skips that case)
# Not a test: numbers depend on the machine. Targets (issues 4 and 11): walferry faster than each, >= 1.5x
# pg_dump|pg_restore on big tables.
set -euo pipefail
cd "$(dirname "$0")"
source ./lib.sh
source ./dataset.sh
build_walferry
JOBS=${JOBS:-$(nproc)}
MANY_TABLES=${MANY_TABLES:-2000}

clusters_with_dataset
if [ "$MANY_TABLES" -gt 0 ]; then
  echo "building the many-table dataset ($MANY_TABLES tables of 100 rows)..." >&2
  make_many_tables "$src" many "$MANY_TABLES"
fi
PSQL_DST=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$dst" -U postgres)

declare -A seconds
run() {  # run NAME DB COMMAND...: time COMMAND loading SRC_DB into a fresh target database DB
  local name=$1 db=$2; shift 2
  "$PGBIN/createdb" -h 127.0.0.1 -p "$dst" -U postgres "$db"
  # The same start for every method: no dirty buffers of an earlier method's load left to be written during this
  # one (the target keeps every loaded database; without this the later methods pay for the earlier ones' writes).
  "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$src" -U postgres -d postgres -c CHECKPOINT
  "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$dst" -U postgres -d postgres -c CHECKPOINT
  sync
  echo "timing $name..." >&2
  local t0; t0=$(date +%s%N)
  "$@" || return 0
  seconds[$name]=$(elapsed "$t0")
  echo "  $name: ${seconds[$name]} s" >&2
}

dump_restore() { "$PGBIN/pg_dump" -Fc -Z0 -h 127.0.0.1 -p "$src" -U postgres "$SRC_DB" |
                 "$PGBIN/pg_restore" -h 127.0.0.1 -p "$dst" -U postgres -d "$1"; }
dump_restore_dir() {
  local dir=$BENCH_TMP/dumpdir
  "$PGBIN/pg_dump" -Fd -Z0 -j "$JOBS" -f "$dir" -h 127.0.0.1 -p "$src" -U postgres "$SRC_DB"
  "$PGBIN/pg_restore" -j "$JOBS" -h 127.0.0.1 -p "$dst" -U postgres -d "$1" "$dir"
  rm -rf "$dir"
}
native_sync() {
  "$PGBIN/pg_dump" -s -h 127.0.0.1 -p "$src" -U postgres "$SRC_DB" | "${PSQL_DST[@]}" -d "$1" >/dev/null
  "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$src" -U postgres -d "$SRC_DB" -c "CREATE PUBLICATION bench_pub FOR ALL TABLES"
  "${PSQL_DST[@]}" -d "$1" -c "CREATE SUBSCRIPTION bench_sub CONNECTION 'host=127.0.0.1 port=$src user=postgres dbname=$SRC_DB' PUBLICATION bench_pub"
  until [ "$("$PGBIN/psql" -X -At -h 127.0.0.1 -p "$dst" -U postgres -d "$1" \
          -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate NOT IN ('r', 's')")" = 0 ]; do sleep 0.2; done
  "${PSQL_DST[@]}" -d "$1" -c "DROP SUBSCRIPTION bench_sub" >/dev/null
  "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$src" -U postgres -d "$SRC_DB" -c "DROP PUBLICATION bench_pub"
}
pgcopydb_clone() {
  # A failure of the comparison tool is reported, not fatal: walferry's own timing still runs.
  if ! pgcopydb clone --dir "$BENCH_TMP/pgcopydb-$1" --table-jobs "$JOBS" --index-jobs "$JOBS" --no-owner --no-acl \
      --source "$(uri "$src" "$SRC_DB")" --target "$(uri "$dst" "$1")" >"$BENCH_TMP/pgcopydb.log" 2>&1; then
    echo "pgcopydb clone failed (its result is left out):" >&2
    tail -5 "$BENCH_TMP/pgcopydb.log" >&2
    return 1
  fi
}
walferry_load() {  # walferry_load DB [walferry.yaml]: all tables in one set, or the file's sets (and target)
  if [ -n "${2:-}" ]; then
    "$WALFERRY" load -c "$2" --table-jobs "$JOBS" --index-jobs "$JOBS" --log-level warn >/dev/null
  else
    "$WALFERRY" load --source "$(uri "$src" "$SRC_DB")" --target "$(uri "$dst" "$1")" --table-jobs "$JOBS" \
      --index-jobs "$JOBS" --log-level warn >/dev/null
  fi
}

# compare SRC_DB PREFIX [walferry.yaml]: every method loads SRC_DB into its own new target database PREFIX_<method>.
compare() {
  SRC_DB=$1
  local p=$2
  run "pg_dump | pg_restore" "${p}_dump" dump_restore "${p}_dump"
  run "pg_dump -Fd -j$JOBS + pg_restore -j$JOBS" "${p}_dumpdir" dump_restore_dir "${p}_dumpdir"
  run "native logical replication (initial sync)" "${p}_native" native_sync "${p}_native"
  if command -v pgcopydb >/dev/null; then run "pgcopydb clone" "${p}_pgcopydb" pgcopydb_clone "${p}_pgcopydb"; fi
  run "walferry load" "${p}_walferry" walferry_load "${p}_walferry" "${3:-}"
}

# same_tables SRC_DB TARGET_DB TABLE...: the loaded copies must be equal, or the timing means nothing.
same_tables() {
  local from=$1 to=$2; shift 2
  for t in "$@"; do
    a=$("$PGBIN/psql" -X -At -h 127.0.0.1 -p "$src" -U postgres -d "$from" -c "SELECT md5(string_agg(x::text, '' ORDER BY x::text)) FROM $t x")
    b=$("$PGBIN/psql" -X -At -h 127.0.0.1 -p "$dst" -U postgres -d "$to" -c "SELECT md5(string_agg(x::text, '' ORDER BY x::text)) FROM $t x")
    [ "$a" = "$b" ] || { echo "walferry's copy of $from.$t differs from the source" >&2; exit 1; }
  done
}

report() {  # report TITLE: the table of the last compare, then forgets it
  echo
  echo "$1"
  printf '%-46s %10s %16s\n' "method" "seconds" "walferry speedup"
  local w=${seconds["walferry load"]}
  for name in "pg_dump | pg_restore" "pg_dump -Fd -j$JOBS + pg_restore -j$JOBS" \
              "native logical replication (initial sync)" "pgcopydb clone" "walferry load"; do
    [ -n "${seconds[$name]:-}" ] || continue
    printf '%-46s %10s %15.2fx\n' "$name" "${seconds[$name]}" "$(python3 -c "print(${seconds[$name]} / $w)")"
  done
  seconds=()
}

compare bench t
same_tables bench t_walferry pgbench_accounts profiles blobs events
echo
machine_line
echo "jobs: $JOBS"
report "big tables: $(db_size "$src" bench) (pgbench scale ${BENCH_SCALE:-30} + jsonb/bytea tables)"

if [ "$MANY_TABLES" -gt 0 ]; then
  many_config=$BENCH_TMP/many.yaml
  many_sets_config "$(uri "$src" many)" "$(uri "$dst" m_walferry)" "$MANY_TABLES" >"$many_config"
  compare many m "$many_config"
  same_tables many m_walferry t1 "t$MANY_TABLES"
  "$PGBIN/psql" -X -At -h 127.0.0.1 -p "$dst" -U postgres -d m_walferry \
    -c "SELECT count(*) FROM pg_tables WHERE tablename ~ '^t[0-9]+$'" | grep -qx "$MANY_TABLES" ||
    { echo "walferry's copy of many lacks tables" >&2; exit 1; }
  report "many small tables: $MANY_TABLES tables of 100 rows, $(db_size "$src" many), walferry with 4 sets"
fi
