# bench/load_methods.sh (sourced by bench/load.sh and bench/run.sh): the load methods of bench/rounds.sh, each
# loading $LOAD_DB of the source cluster ($src) into its own new target database "l_<method>_<round>" ($dst):
#   walferry_load  walferry load (one set, or $LOAD_SETS tables dealt into 4 sets by many_sets_config);
#                  after it (untimed): its copy is checked (md5 of sorted rows of some tables), then cleaned up
#   dump           pg_dump -Fc -Z0 | pg_restore
#   dumpdir        pg_dump -Fd -Z0 -j JOBS, then pg_restore -j JOBS
#   native         native logical replication's initial table sync (schema by pg_dump -s | psql, then a subscription)
#   pgcopydb       pgcopydb clone --table-jobs JOBS --index-jobs JOBS (when installed)
#   floor          what any load must at least do on the target: every table's rows as binary COPY files on the
#                  target machine's disk (written once per database, untimed: make_floor_files), tables created
#                  beforehand (untimed), timed: the files COPY'd in with JOBS sessions at once, then the post-data
#                  step (pg_restore --section=post-data -j JOBS). No source work at all.
# Needs PGBIN, src, dst, JOBS, BENCH_TMP, WALFERRY (bench/lib.sh) and many_sets_config (bench/dataset.sh).
PSQL() { local port=$1 db=$2; shift 2; "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"; }
target_db() { echo "l_$1_$2"; }
fresh_target() { "$PGBIN/createdb" -h 127.0.0.1 -p "$dst" -U postgres "$1"; }
drop_target() { "$PGBIN/dropdb" -h 127.0.0.1 -p "$dst" -U postgres --if-exists "$1"; }

prep_dump() { fresh_target "$(target_db dump "$1")"; }
m_dump() {
  "$PGBIN/pg_dump" -Fc -Z0 -h 127.0.0.1 -p "$src" -U postgres "$LOAD_DB" |
    "$PGBIN/pg_restore" -h 127.0.0.1 -p "$dst" -U postgres -d "$(target_db dump "$1")"
}
after_dump() { drop_target "$(target_db dump "$1")"; }

prep_dumpdir() { fresh_target "$(target_db dumpdir "$1")"; }
m_dumpdir() {
  local dir=$BENCH_TMP/dumpdir
  "$PGBIN/pg_dump" -Fd -Z0 -j "$JOBS" -f "$dir" -h 127.0.0.1 -p "$src" -U postgres "$LOAD_DB"
  "$PGBIN/pg_restore" -j "$JOBS" -h 127.0.0.1 -p "$dst" -U postgres -d "$(target_db dumpdir "$1")" "$dir"
}
after_dumpdir() { rm -rf "$BENCH_TMP/dumpdir"; drop_target "$(target_db dumpdir "$1")"; }

prep_native() { fresh_target "$(target_db native "$1")"; }
m_native() {
  local db; db=$(target_db native "$1")
  "$PGBIN/pg_dump" -s -h 127.0.0.1 -p "$src" -U postgres "$LOAD_DB" | PSQL "$dst" "$db" >/dev/null
  PSQL "$src" "$LOAD_DB" -c "CREATE PUBLICATION bench_pub FOR ALL TABLES"
  PSQL "$dst" "$db" -c "CREATE SUBSCRIPTION bench_sub CONNECTION 'host=127.0.0.1 port=$src user=postgres dbname=$LOAD_DB' PUBLICATION bench_pub"
  until [ "$(PSQL "$dst" "$db" -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate NOT IN ('r', 's')")" = 0 ]; do
    sleep 0.2
  done
}
after_native() {
  local db; db=$(target_db native "$1")
  PSQL "$dst" "$db" -c "DROP SUBSCRIPTION IF EXISTS bench_sub" || true
  PSQL "$src" "$LOAD_DB" -c "DROP PUBLICATION IF EXISTS bench_pub"
  drop_target "$db"
}

prep_pgcopydb() { fresh_target "$(target_db pgcopydb "$1")"; rm -rf "$BENCH_TMP/pgcopydb"; }
m_pgcopydb() {
  pgcopydb clone --dir "$BENCH_TMP/pgcopydb" --table-jobs "$JOBS" --index-jobs "$JOBS" --no-owner --no-acl \
    --source "$(uri "$src" "$LOAD_DB")" --target "$(uri "$dst" "$(target_db pgcopydb "$1")")"
}
after_pgcopydb() { rm -rf "$BENCH_TMP/pgcopydb"; drop_target "$(target_db pgcopydb "$1")"; }

prep_walferry_load() { fresh_target "$(target_db walferry "$1")"; }
m_walferry_load() {
  local db; db=$(target_db walferry "$1")
  if [ -n "${LOAD_SETS:-}" ]; then
    many_sets_config "$(uri "$src" "$LOAD_DB")" "$(uri "$dst" "$db")" "$LOAD_SETS" >"$BENCH_TMP/sets.yaml"
    "$WALFERRY" load -c "$BENCH_TMP/sets.yaml" --table-jobs "$JOBS" --index-jobs "$JOBS" --log-level warn
  else
    "$WALFERRY" load --source "$(uri "$src" "$LOAD_DB")" --target "$(uri "$dst" "$db")" --table-jobs "$JOBS" \
      --index-jobs "$JOBS" --log-level warn
  fi
}
after_walferry_load() {
  local db; db=$(target_db walferry "$1")
  # The copy must be exact, or its time means nothing: every table's rows, by md5 of their sorted text.
  for t in $(PSQL "$src" "$LOAD_DB" -c "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1" |
             awk 'NR <= 10 || NR % 97 == 1'); do
    q="SELECT md5(string_agg(x::text, '' ORDER BY x::text)) FROM $t x"
    [ "$(PSQL "$src" "$LOAD_DB" -c "$q")" = "$(PSQL "$dst" "$db" -c "$q")" ] ||
      { echo "walferry's copy of $LOAD_DB.$t differs from the source" >&2; exit 1; }
  done
  # ... and carry every index and constraint: as many as the source has.
  q="SELECT (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public') || '/' || (SELECT count(*) FROM pg_constraint WHERE connamespace = 'public'::regnamespace)"
  [ "$(PSQL "$src" "$LOAD_DB" -c "$q")" = "$(PSQL "$dst" "$db" -c "$q")" ] ||
    { echo "walferry's copy of $LOAD_DB lacks indexes or constraints" >&2; exit 1; }
  if [ -n "${LOAD_SETS:-}" ]; then  # the sets are the file's
    "$WALFERRY" cleanup -c "$BENCH_TMP/sets.yaml" --control-schema --log-level warn
  else
    "$WALFERRY" cleanup --source "$(uri "$src" "$LOAD_DB")" --target "$(uri "$dst" "$db")" --control-schema \
      --log-level warn
  fi
  drop_target "$db"
}

# make_floor_files: the floor's input for $LOAD_DB (untimed, once per database): its schema dump and one binary COPY
# file per table, written by the server into a directory it owns.
make_floor_files() {
  local dir=$BENCH_TMP/floor
  rm -rf "$dir"
  as_pg mkdir -p "$dir"
  "$PGBIN/pg_dump" -Fc --schema-only -h 127.0.0.1 -p "$src" -U postgres -f "$BENCH_TMP/floor.dump" "$LOAD_DB"
  PSQL "$src" "$LOAD_DB" -c "SELECT format('COPY %I TO %L (FORMAT binary);', tablename, '$dir/' || tablename || '.bin')
                               FROM pg_tables WHERE schemaname = 'public'" | PSQL "$src" "$LOAD_DB"
}
prep_floor() {
  local db i; db=$(target_db floor "$1")
  fresh_target "$db"
  "$PGBIN/pg_restore" --section=pre-data -h 127.0.0.1 -p "$dst" -U postgres -d "$db" "$BENCH_TMP/floor.dump"
  # JOBS scripts, the tables dealt largest first (as walferry's workers take them), one psql session each.
  rm -f "$BENCH_TMP"/floor-*.sql
  i=0
  for f in $(ls -S "$BENCH_TMP/floor"); do
    echo "COPY \"${f%.bin}\" FROM '$BENCH_TMP/floor/$f' (FORMAT binary);" >>"$BENCH_TMP/floor-$((i % JOBS)).sql"
    i=$((i + 1))
  done
}
m_floor() {
  local db f; db=$(target_db floor "$1")
  for f in "$BENCH_TMP"/floor-*.sql; do PSQL "$dst" "$db" -f "$f" & done
  wait
  "$PGBIN/pg_restore" --section=post-data -j "$JOBS" -h 127.0.0.1 -p "$dst" -U postgres -d "$db" \
    "$BENCH_TMP/floor.dump"
}
after_floor() { drop_target "$(target_db floor "$1")"; }
