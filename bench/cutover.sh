#!/usr/bin/env bash
# bench/cutover.sh: the downtime of the switch -- from the moment the application can no longer write on the source
# to the moment the target is ready (caught up, sequences set, analyzed) -- on the bench dataset under a steady
# pgbench write load, for:
#   walferry cutover --terminate-sessions --no-validate
#   walferry cutover --terminate-sessions               (with the final validation of every table)
#   walferry fallback --switch-back --terminate-sessions --no-validate (the way back: after the first cutover, made
#     with --fallback, pgbench writes on the target while walferry fallback streams back; then the timed switch)
#   native logical replication, switched the usual way by hand: ALTER DATABASE ... default_transaction_read_only,
#     end the sessions, wait until the subscription has confirmed the final WAL position, setval every sequence,
#     ANALYZE (large objects: none in this dataset)
# Each method migrates into its own target database; the source is made writable again between them.
# Usage: bash bench/cutover.sh   (env BENCH_SCALE as bench/dataset.sh, default 30; RATE: pgbench tps, default 200)
# Not a test: numbers depend on the machine. Goal (issue 9): walferry without validation under 5 s.
set -euo pipefail
cd "$(dirname "$0")"
source ./lib.sh
source ./dataset.sh
build_walferry
RATE=${RATE:-200}

src=$(start_cluster source)
dst=$(start_cluster target)
PSQL() { local port=$1 db=$2; shift 2; "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"; }

echo "building the dataset (scale ${BENCH_SCALE:-30})..." >&2
make_dataset "$src" bench

writable() {
  PSQL "$src" bench -c "SET default_transaction_read_only = off" -c "ALTER DATABASE bench RESET default_transaction_read_only"
}

# A steady write load on the source until the cutover ends its sessions (pgbench then stops with an error).
start_load() {
  local port=${1:-$src} db=${2:-bench}
  "$PGBIN/pgbench" -h 127.0.0.1 -p "$port" -U postgres -n -c 2 -j 2 -R "$RATE" -T 600 "$db" >/dev/null 2>&1 &
  LOAD_PID=$!
  sleep 5
}
stop_load() { kill "$LOAD_PID" 2>/dev/null || true; wait "$LOAD_PID" 2>/dev/null || true; }

# walferry_run NAME [cutover flags...]: load into database t_NAME, CDC under the load, then the timed cutover.
walferry_run() {
  local name=$1; shift
  local cfg=$BENCH_TMP/$name.yaml
  "$PGBIN/createdb" -h 127.0.0.1 -p "$dst" -U postgres "t_$name"
  printf 'version: 1\nsource: "%s"\ntarget: "%s"\nsets:\n  - name: %s\n    tables:\n' \
    "$(uri "$src" bench)" "$(uri "$dst" "t_$name")" "$name" > "$cfg"
  for t in pgbench_accounts pgbench_branches pgbench_tellers pgbench_history profiles blobs events; do
    printf '      - name: public.%s\n' "$t" >> "$cfg"
  done
  "$WALFERRY" -c "$cfg" --log-level warn load >/dev/null
  start_load
  "$WALFERRY" -c "$cfg" --log-level warn cdc --until-caught-up >/dev/null
  "$WALFERRY" -c "$cfg" --json cutover --terminate-sessions "$@" > "$BENCH_TMP/$name.json" 2> "${CUTOVER_LOG_DIR:-$BENCH_TMP}/cutover-$name.log"
  stop_load
  python3 -c "import json; print(f\"{json.load(open('$BENCH_TMP/$name.json'))['downtime_seconds']:.2f}\")"
}

echo "walferry cutover without validation (with --fallback)..." >&2
nov=$(walferry_run nov --no-validate --fallback)
echo "walferry fallback --switch-back without validation..." >&2
start_load "$dst" t_nov
"$WALFERRY" -c "$BENCH_TMP/nov.yaml" --log-level warn fallback --until-caught-up >/dev/null
"$WALFERRY" -c "$BENCH_TMP/nov.yaml" --json fallback --switch-back --terminate-sessions --no-validate \
  > "$BENCH_TMP/back.json" 2> "${CUTOVER_LOG_DIR:-$BENCH_TMP}/switch-back.log"
stop_load
back=$(python3 -c "import json; print(f\"{json.load(open('$BENCH_TMP/back.json'))['downtime_seconds']:.2f}\")")
writable
echo "walferry cutover with validation..." >&2
val=$(walferry_run val)
writable

echo "native logical replication: initial sync, then the cutover by hand..." >&2
"$PGBIN/createdb" -h 127.0.0.1 -p "$dst" -U postgres t_native
"$PGBIN/pg_dump" -s -h 127.0.0.1 -p "$src" -U postgres bench | PSQL "$dst" t_native >/dev/null
PSQL "$src" bench -c "CREATE PUBLICATION native_pub FOR ALL TABLES"
PSQL "$dst" t_native -c "CREATE SUBSCRIPTION native_sub CONNECTION 'host=127.0.0.1 port=$src user=postgres dbname=bench' PUBLICATION native_pub" 2>/dev/null
until [ "$(PSQL "$dst" t_native -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'")" = 0 ]; do sleep 0.5; done
start_load
t0=$(date +%s%N)
PSQL "$src" bench -c "ALTER DATABASE bench SET default_transaction_read_only = on"
PSQL "$src" bench -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = 'bench' AND backend_type = 'client backend' AND pid <> pg_backend_pid()" >/dev/null
final=$(PSQL "$src" bench -c "SELECT pg_current_wal_insert_lsn()")
until [ "$(PSQL "$src" bench -c "SELECT confirmed_flush_lsn >= '$final' FROM pg_replication_slots WHERE slot_name = 'native_sub'")" = t ]; do sleep 0.05; done
PSQL "$src" bench -c "SELECT format('SELECT setval(%L, %s, true);', format('%I.%I', schemaname, sequencename), last_value) FROM pg_sequences WHERE last_value IS NOT NULL" | PSQL "$dst" t_native >/dev/null
PSQL "$dst" t_native -c "ANALYZE"
native=$(elapsed "$t0")
stop_load
PSQL "$dst" t_native -c "DROP SUBSCRIPTION native_sub" >/dev/null 2>&1
writable

echo
machine_line
echo "dataset: $(db_size "$src" bench), pgbench tpcb-like at $RATE transactions/s until the switch"
printf '%-58s %12s %16s\n' "method" "downtime (s)" "walferry ratio"
for row in "native logical replication, switched by hand:$native" "walferry cutover --no-validate:$nov" \
           "walferry cutover (with final validation):$val" "walferry fallback --switch-back --no-validate:$back"; do
  name=${row%:*}; s=${row##*:}
  printf '%-58s %12s %15.2fx\n' "$name" "$s" "$(python3 -c "print($s / $nov)")"
done
