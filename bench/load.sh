#!/usr/bin/env bash
# bench/load.sh: times a full load of the same dataset, on the same two clusters in one run, with
#   pg_dump | pg_restore, pg_dump -Fd -j N + pg_restore -j N, native logical replication's initial table sync,
#   pgcopydb clone (when installed), and walferry load; prints each time and walferry's ratio to it.
# Usage: bash bench/load.sh   (env BENCH_SCALE: pgbench scale, default 30; JOBS: parallelism, default nproc)
# Not a test: numbers depend on the machine. Target (issue 4): walferry faster than each, >= 1.5x pg_dump|pg_restore.
set -euo pipefail
cd "$(dirname "$0")"
source ./lib.sh
source ./dataset.sh
build_walferry
JOBS=${JOBS:-$(nproc)}

clusters_with_dataset
PSQL_DST=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$dst" -U postgres)

declare -A seconds
run() {  # run NAME DB COMMAND...: time COMMAND loading into a fresh target database DB
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

dump_restore() { "$PGBIN/pg_dump" -Fc -Z0 -h 127.0.0.1 -p "$src" -U postgres bench |
                 "$PGBIN/pg_restore" -h 127.0.0.1 -p "$dst" -U postgres -d t_dump; }
dump_restore_dir() {
  local dir=$BENCH_TMP/dumpdir
  "$PGBIN/pg_dump" -Fd -Z0 -j "$JOBS" -f "$dir" -h 127.0.0.1 -p "$src" -U postgres bench
  "$PGBIN/pg_restore" -j "$JOBS" -h 127.0.0.1 -p "$dst" -U postgres -d t_dumpdir "$dir"
  rm -rf "$dir"
}
native_sync() {
  "$PGBIN/pg_dump" -s -h 127.0.0.1 -p "$src" -U postgres bench | "${PSQL_DST[@]}" -d t_native >/dev/null
  "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$src" -U postgres -d bench -c "CREATE PUBLICATION bench_pub FOR ALL TABLES"
  "${PSQL_DST[@]}" -d t_native -c "CREATE SUBSCRIPTION bench_sub CONNECTION 'host=127.0.0.1 port=$src user=postgres dbname=bench' PUBLICATION bench_pub"
  until [ "$("$PGBIN/psql" -X -At -h 127.0.0.1 -p "$dst" -U postgres -d t_native \
          -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate NOT IN ('r', 's')")" = 0 ]; do sleep 0.2; done
  "${PSQL_DST[@]}" -d t_native -c "DROP SUBSCRIPTION bench_sub" >/dev/null
  "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$src" -U postgres -d bench -c "DROP PUBLICATION bench_pub"
}
pgcopydb_clone() {
  # A failure of the comparison tool is reported, not fatal: walferry's own timing still runs.
  if ! pgcopydb clone --dir "$BENCH_TMP/pgcopydb" --table-jobs "$JOBS" --index-jobs "$JOBS" --no-owner --no-acl \
      --source "$(uri "$src" bench)" --target "$(uri "$dst" t_pgcopydb)" >"$BENCH_TMP/pgcopydb.log" 2>&1; then
    echo "pgcopydb clone failed (its result is left out):" >&2
    tail -5 "$BENCH_TMP/pgcopydb.log" >&2
    return 1
  fi
}
walferry_load() {
  "$WALFERRY" load --source "$(uri "$src" bench)" --target "$(uri "$dst" t_walferry)" --table-jobs "$JOBS" \
    --index-jobs "$JOBS" --log-level warn >/dev/null
}

run "pg_dump | pg_restore" t_dump dump_restore
run "pg_dump -Fd -j$JOBS + pg_restore -j$JOBS" t_dumpdir dump_restore_dir
run "native logical replication (initial sync)" t_native native_sync
if command -v pgcopydb >/dev/null; then run "pgcopydb clone" t_pgcopydb pgcopydb_clone; fi
run "walferry load" t_walferry walferry_load

# The loaded copies must be equal, or the timing means nothing.
for t in pgbench_accounts profiles blobs events; do
  a=$("$PGBIN/psql" -X -At -h 127.0.0.1 -p "$src" -U postgres -d bench -c "SELECT md5(string_agg(x::text, '' ORDER BY x::text)) FROM $t x")
  b=$("$PGBIN/psql" -X -At -h 127.0.0.1 -p "$dst" -U postgres -d t_walferry -c "SELECT md5(string_agg(x::text, '' ORDER BY x::text)) FROM $t x")
  [ "$a" = "$b" ] || { echo "walferry's copy of $t differs from the source" >&2; exit 1; }
done

echo
machine_line
echo "dataset: $(db_size "$src" bench) (pgbench scale ${BENCH_SCALE:-30} + jsonb/bytea tables), jobs: $JOBS"
printf '%-46s %10s %16s\n' "method" "seconds" "walferry speedup"
w=${seconds["walferry load"]}
for name in "pg_dump | pg_restore" "pg_dump -Fd -j$JOBS + pg_restore -j$JOBS" "native logical replication (initial sync)" \
            "pgcopydb clone" "walferry load"; do
  [ -n "${seconds[$name]:-}" ] || continue
  printf '%-46s %10s %15.2fx\n' "$name" "${seconds[$name]}" "$(python3 -c "print(${seconds[$name]} / $w)")"
done
