#!/usr/bin/env bash
# bench/run.sh: every case of issue 21 on two local clusters, each ROUNDS times (default 3) with its methods
# alternated (bench/rounds.sh), one report of medians and spreads at the end:
#   load   big tables (the pgbench + jsonb/bytea dataset, bench/dataset.sh): walferry load, pg_dump | pg_restore,
#          pg_dump -Fd -jN + pg_restore -jN, and the floor: binary COPY from files on the target's own disk into
#          tables already created, plus the post-data step (pg_restore --section=post-data -jN); no source work.
#   load   many small tables, at each size of MANY_SIZES (default "500 2000 10000"; 100 rows each, walferry in 4
#          sets): walferry load, pg_dump | pg_restore, pg_dump -Fd -jN + pg_restore -jN.
#   validate, on equal copies, per table shape: walferry validate against the plain script (md5 of every row's text
#          on the source, then on the target, compared): large compressible bytea (2,000 rows of about 184 kB),
#          large text, jsonb documents, wide rows (60 columns), a keyless table, the many small tables (2,000), and
#          the whole big-table dataset. The script reads every table in one psql session per server.
# Usage: bash bench/run.sh   (env ROUNDS, BENCH_SCALE (pgbench scale, default 30), JOBS (default nproc),
#                             MANY_SIZES, CASES: a subset of "load_big load_many validate", default all; SHAPES: of
#                             "large_bytea large_text documents wide keyless many dataset", default all)
# Not a test: figures depend on the machine and on what else runs on it; compare ratios within one run.
set -euo pipefail
cd "$(dirname "$0")"
source ./lib.sh
source ./dataset.sh
source ./rounds.sh
build_walferry
JOBS=${JOBS:-$(nproc)}
MANY_SIZES=${MANY_SIZES:-500 2000 10000}
CASES=${CASES:-load_big load_many validate}
SHAPES=${SHAPES:-large_bytea large_text documents wide keyless many dataset}
COMMIT=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- ../src || echo "+changes")  # what build_walferry built
source ./load_methods.sh  # the load methods and the floor (PSQL, target_db, fresh_target, ...)
wants() { [[ " $CASES " == *" $1 "* ]]; }

src=$(start_cluster source)
dst=$(start_cluster target)

# ---- validate methods: compare $V_DB on both clusters, tables $V_TABLES ----
script_digest() {  # script_digest PORT: one line per table, every table in one psql session
  for t in $V_TABLES; do
    echo "SELECT '$t', md5(string_agg(h, '' ORDER BY h)) FROM (SELECT md5(x::text) AS h FROM $t x) s;"
  done | PSQL "$1" "$V_DB"
}
m_md5_script() { [ "$(script_digest "$src")" = "$(script_digest "$dst")" ]; }
m_walferry_validate() {
  local args=() t
  for t in $V_TABLES; do args+=(--table "public.$t"); done
  [ "$V_ALL" = 1 ] && args=()
  "$WALFERRY" --json --log-level warn validate --source "$(uri "$src" "$V_DB")" --target "$(uri "$dst" "$V_DB")" \
    --jobs "$JOBS" "${args[@]}" >"$BENCH_TMP/validate.json" || true
  grep -q '"equal": true' "$BENCH_TMP/validate.json" || { echo "walferry validate found differences" >&2; exit 1; }
}
copy_to_target() {  # copy_to_target DB: the same database on the target (untimed setup)
  "$PGBIN/createdb" -h 127.0.0.1 -p "$dst" -U postgres "$1"
  "$PGBIN/pg_dump" -Fc -Z0 -h 127.0.0.1 -p "$src" -U postgres "$1" |
    "$PGBIN/pg_restore" -h 127.0.0.1 -p "$dst" -U postgres -d "$1"
  PSQL "$dst" "$1" -c "ANALYZE"
}
make_shapes() {  # database "shapes": one table per validate shape
  "$PGBIN/createdb" -h 127.0.0.1 -p "$src" -U postgres shapes
  PSQL "$src" shapes <<'SQL'
-- 2,000 rows of compressible bytea averaging about 184 kB (the issue's large-value table)
CREATE TABLE large_bytea (id int PRIMARY KEY, v bytea);
INSERT INTO large_bytea SELECT g, decode(repeat(md5(g::text) || md5((g + 1)::text), 2900 + (g * 2851) % 5700), 'hex')
  FROM generate_series(1, 2000) g;
CREATE TABLE large_text (id int PRIMARY KEY, v text);
INSERT INTO large_text SELECT g, repeat(md5(g::text) || ' "quoted" \ ', 1500 + g % 3000) FROM generate_series(1, 2000) g;
CREATE TABLE documents (id bigint PRIMARY KEY, doc jsonb);
INSERT INTO documents SELECT g, jsonb_build_object('name', 'n' || g, 'n', g / 7.0, 'tags', jsonb_build_array('a', g % 97),
  'body', repeat(md5(g::text), 1 + g % 40)) FROM generate_series(1, 200000) g;
CREATE TABLE keyless (a int, b text, c numeric);
INSERT INTO keyless SELECT g % 1000, 'row ' || g, g / 3.0 FROM generate_series(1, 500000) g;
SQL
  local cols="" vals="" i
  for i in $(seq 1 60); do cols+=", c$i int"; vals+=", g + $i"; done
  PSQL "$src" shapes -c "CREATE TABLE wide (id int PRIMARY KEY$cols); INSERT INTO wide SELECT g$vals FROM generate_series(1, 200000) g"
  PSQL "$src" shapes -c "ANALYZE"
}

if wants load_big || { wants validate && [[ " $SHAPES " == *" dataset "* ]]; }; then
  echo "building the big-table dataset (pgbench scale ${BENCH_SCALE:-30} + jsonb/bytea tables)..." >&2
  make_dataset "$src" bench
fi
if wants load_big; then
  LOAD_DB=bench LOAD_SETS=""
  make_floor_files
  case_run "load, big tables $(db_size "$src" bench)" walferry_load dump dumpdir floor
fi
if wants load_many; then
  for n in $MANY_SIZES; do
    echo "building $n small tables..." >&2
    make_many_tables "$src" "many$n" "$n"
    LOAD_DB=many$n LOAD_SETS=$n
    case_run "load, $n tables of 100 rows (walferry in 4 sets)" walferry_load dump dumpdir
    "$PGBIN/dropdb" -h 127.0.0.1 -p "$src" -U postgres "many$n"
  done
fi
if wants validate; then
  echo "building the validate shapes..." >&2
  make_shapes
  copy_to_target shapes
  V_DB=shapes V_ALL=0
  for shape in large_bytea large_text documents wide keyless; do
    [[ " $SHAPES " == *" $shape "* ]] || continue
    V_TABLES=$shape
    case_run "validate, $shape ($(PSQL "$src" shapes -c "SELECT pg_size_pretty(pg_total_relation_size('$shape'))"))" \
      walferry_validate md5_script
  done
  if [[ " $SHAPES " == *" many "* ]]; then
    make_many_tables "$src" many_v 2000
    copy_to_target many_v
    V_DB=many_v V_ALL=1
    V_TABLES=$(PSQL "$src" many_v -c "SELECT string_agg(tablename, ' ') FROM pg_tables WHERE schemaname = 'public'")
    case_run "validate, 2000 tables of 100 rows" walferry_validate md5_script
  fi
  if [[ " $SHAPES " == *" dataset "* ]]; then
    copy_to_target bench
    V_DB=bench V_ALL=1 V_TABLES="pgbench_accounts pgbench_branches pgbench_tellers pgbench_history profiles blobs events"
    case_run "validate, big-table dataset $(db_size "$src" bench)" walferry_validate md5_script
  fi
fi

echo
echo "== walferry benchmarks (bench/run.sh) =="
machine_line
echo "jobs: $JOBS; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); walferry built from commit $COMMIT"
summary
