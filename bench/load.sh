#!/usr/bin/env bash
# bench/load.sh: times a full load of the same dataset on the same two clusters, ROUNDS times (default 2) with the
# methods alternated (bench/rounds.sh), with: walferry load, pg_dump | pg_restore, pg_dump -Fd -j N +
# pg_restore -j N, native logical replication's initial table sync, pgcopydb clone (when installed), and the floor
# (binary COPY from files on the target's disk into tables made beforehand, plus the post-data step: no source
# work; bench/load_methods.sh). Prints every timing with the load average, then per method the median, the spread,
# walferry's speedup over it, and walferry's ratio to the floor. Two datasets: big tables (pgbench + jsonb/bytea),
# and many small tables (MANY_TABLES tables of 100 rows, walferry in 4 sets).
# Usage: bash bench/load.sh   (env ROUNDS; BENCH_SCALE: pgbench scale, default 30; JOBS: parallelism, default
#                              nproc; MANY_TABLES: default 500, 0 skips that case; METHODS: a subset of
#                              "walferry_load dump dumpdir native pgcopydb floor", default all)
# Not a test: numbers depend on the machine and on what else runs on it. Targets (issue 21): walferry faster than
# each method on every shape; on big tables within 1.2x of the floor.
set -euo pipefail
cd "$(dirname "$0")"
source ./lib.sh
source ./dataset.sh
ROUNDS=${ROUNDS:-2}
source ./rounds.sh
build_walferry
JOBS=${JOBS:-$(nproc)}
MANY_TABLES=${MANY_TABLES:-500}
METHODS=${METHODS:-walferry_load dump dumpdir native pgcopydb floor}
command -v pgcopydb >/dev/null || METHODS=${METHODS//pgcopydb/}
COMMIT=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- ../src || echo "+changes")  # what build_walferry built
source ./load_methods.sh

clusters_with_dataset
LOAD_DB=bench LOAD_SETS=""
[[ " $METHODS " == *" floor "* ]] && make_floor_files
# shellcheck disable=SC2086  # METHODS is a list of names
case_run "load, big tables $(db_size "$src" bench) (pgbench scale ${BENCH_SCALE:-30} + jsonb/bytea)" $METHODS

if [ "$MANY_TABLES" -gt 0 ]; then
  echo "building the many-table dataset ($MANY_TABLES tables of 100 rows)..." >&2
  make_many_tables "$src" many "$MANY_TABLES"
  LOAD_DB=many LOAD_SETS=$MANY_TABLES
  [[ " $METHODS " == *" floor "* ]] && make_floor_files
  # shellcheck disable=SC2086
  case_run "load, $MANY_TABLES tables of 100 rows $(db_size "$src" many) (walferry in 4 sets)" $METHODS
fi

echo
echo "== walferry load benchmark (bench/load.sh) =="
machine_line
echo "jobs: $JOBS; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); walferry built from commit $COMMIT"
summary
