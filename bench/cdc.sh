#!/usr/bin/env bash
# bench/cdc.sh: CDC catch-up throughput. One pgbench workload (tpcb-like plus an update-heavy script on a table with
# jsonb values) runs while no consumer is consuming, so the same backlog waits in five slots: native logical
# replication's (a disabled subscription), walferry transactional's (set txn: every table apply: transactional),
# walferry batch's (set bat: apply as walferry plan writes it, batch except profiles, which has a primary key and
# a separate unique constraint), walferry batch on two apply connections' (set bat2: the same with
# cdc.apply_connections: 2) and the decoding floor's (pg_recvlogical of the pgoutput stream to /dev/null: no
# apply at all). Then each consumer catches up alone, in ORDER, and the script prints seconds, changes per second,
# each one's time relative to walferry batch and walferry's peak RSS.
# CDC_SHAPE=uniform replaces that workload with the issue's backlog (b): single-row updates of uniformly random rows
# of a 2,000,000-row table (pgbench scale 20's pgbench_accounts, no hot rows: netting saves nothing), one per
# transaction; the same five consumers.
# CDC_SHAPE=large measures something else: the time from the source COMMIT of one 2,000,000-row transaction (CDC_ROWS)
# to its commit on the target, with every consumer running and caught up before it: walferry asking for pgoutput
# protocol 1 (WALFERRY_PGOUTPUT_PROTOCOL=1: the source sends the transaction only after its commit), walferry with
# the source's protocol and streaming 'on' under cdc.streaming: spill (sent while it runs, spilled, applied at the
# commit) and under cdc.streaming: on (applied on a second target connection while it runs, committed at its
# commit; docs/cdc.md), and native logical replication with streaming = on. Each consumer has its own table;
# CDC_ROUNDS rounds (default 2), the methods alternating order each round; every walsender decodes the other
# methods' transactions alike.
# CDC_STEPS (default 1) splits the transaction into that many INSERTs with CDC_STEP_PAUSE seconds (default 0) of
# pg_sleep after each: a batch job that runs a while, which the early apply can follow while it runs.
# Usage: bash bench/cdc.sh   (env CDC_SHAPE: tpcb (default), uniform or large; CDC_TXNS: pgbench transactions per client
# and script, default 4000 (uniform: 37500); CLIENTS default 4; ORDER: the consumers in the order they catch up,
# default "native transactional batch batch2 floor"; BATCH_PROFILES: profiles' apply mode in the batch run, default
# transactional as walferry plan writes it; BATCH_CDC: extra cdc settings of both batch runs; TARGET_INDEXES: see
# below; CDC_LOG_LEVEL and CDC_LOG_DIR: walferry's log level and where its logs
# go, default warn and stderr; CDC_PGSS=1: print the target's top statements from pg_stat_statements; CDC_PERF=1: a
# system-wide perf profile of each walferry catch-up, its top symbols printed)
# Not a test: numbers depend on the machine (and on other load on it: say so with the figures).
set -euo pipefail
cd "$(dirname "$0")"
source ./lib.sh
build_walferry
SHAPE=${CDC_SHAPE:-tpcb}
case $SHAPE in
  tpcb) TXNS=${CDC_TXNS:-4000}; SCALE=10 ;;
  uniform) TXNS=${CDC_TXNS:-37500}; SCALE=20 ;;
  large) ;;
  *) echo "CDC_SHAPE must be tpcb, uniform or large" >&2; exit 2 ;;
esac
CLIENTS=${CLIENTS:-4}
ORDER=${ORDER:-native transactional batch batch2 floor}
# profiles' mode in the batch configuration: transactional as walferry plan writes it (primary key and a separate
# unique constraint), or batch to see every table set-based.
BATCH_PROFILES=${BATCH_PROFILES:-transactional}

src=$(start_cluster source)
# CDC_PGSS=1: the target runs pg_stat_statements and its top statements are printed at the end (a profile).
dst=$(start_cluster target ${CDC_PGSS:+"shared_preload_libraries = 'pg_stat_statements'"} \
  ${CDC_PGSS:+"pg_stat_statements.track = all"})
PSQL() { local port=$1 db=$2; shift 2; "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"; }

if [ "$SHAPE" = large ]; then
  ROWS=${CDC_ROWS:-2000000}
  ROUNDS=${CDC_ROUNDS:-2}
  STEPS=${CDC_STEPS:-1}
  STEP_PAUSE=${CDC_STEP_PAUSE:-0}
  METHODS="p1 spill stream native"
  "$PGBIN/createdb" -h 127.0.0.1 -p "$src" -U postgres bench
  for m in $METHODS; do
    PSQL "$src" bench -c "CREATE TABLE big_$m (id bigint PRIMARY KEY, v text, pad text)"
    "$PGBIN/createdb" -h 127.0.0.1 -p "$dst" -U postgres "t_$m"
  done
  PSQL "$dst" t_native -c "CREATE TABLE big_native (id bigint PRIMARY KEY, v text, pad text)"
  PSQL "$src" bench -c "CREATE PUBLICATION native_pub FOR TABLE big_native"
  PSQL "$dst" t_native -c "CREATE SUBSCRIPTION native_sub CONNECTION 'host=127.0.0.1 port=$src user=postgres dbname=bench' PUBLICATION native_pub WITH (streaming = on)"
  for m in p1 spill stream; do
    cat > "$BENCH_TMP/$m.yaml" <<EOF
version: 1
source: "$(uri "$src" bench)"
target: "$(uri "$dst" "t_$m")"
sets:
  - name: $m
    apply: transactional
    tables:
      - name: public.big_$m
EOF
    [ "$m" = spill ] && printf 'cdc:\n  streaming: spill\n' >> "$BENCH_TMP/$m.yaml"
    "$WALFERRY" -c "$BENCH_TMP/$m.yaml" load --log-level warn >/dev/null
  done
  log_to() { if [ -n "${CDC_LOG_DIR:-}" ]; then echo "$CDC_LOG_DIR/$1.log"; else echo /dev/stderr; fi; }
  WALFERRY_PGOUTPUT_PROTOCOL=1 /usr/bin/time -f %M -o "$BENCH_TMP/p1.rss" "$WALFERRY" -c "$BENCH_TMP/p1.yaml" cdc \
    --log-level "${CDC_LOG_LEVEL:-warn}" >/dev/null 2>>"$(log_to p1)" &
  p1_pid=$!
  /usr/bin/time -f %M -o "$BENCH_TMP/spill.rss" "$WALFERRY" -c "$BENCH_TMP/spill.yaml" cdc \
    --log-level "${CDC_LOG_LEVEL:-warn}" >/dev/null 2>>"$(log_to spill)" &
  spill_pid=$!
  /usr/bin/time -f %M -o "$BENCH_TMP/stream.rss" "$WALFERRY" -c "$BENCH_TMP/stream.yaml" cdc \
    --log-level "${CDC_LOG_LEVEL:-warn}" >/dev/null 2>>"$(log_to stream)" &
  stream_pid=$!
  declare -A took
  for ((round = 1; round <= ROUNDS; round++)); do
    order=$METHODS
    [ $((round % 2)) = 0 ] && order="native stream spill p1"
    for m in $order; do
      first=$(( (round - 1) * ROWS + 1 )); last=$(( round * ROWS ))
      echo "round $round, $m: one transaction of $ROWS rows in $STEPS INSERT(s), ${STEP_PAUSE}s pause after each..." >&2
      {
        echo "BEGIN;"
        for ((step = 0; step < STEPS; step++)); do
          from=$(( first + step * ROWS / STEPS )); to=$(( first + (step + 1) * ROWS / STEPS - 1 ))
          echo "INSERT INTO big_$m SELECT g, 'row ' || g, repeat('p', 40) FROM generate_series($from, $to) g;"
          [ "$STEP_PAUSE" != 0 ] && echo "SELECT pg_sleep($STEP_PAUSE);"
        done
        echo "COMMIT;"
      } | PSQL "$src" bench >/dev/null
      t0=$(date +%s%N)  # the source COMMIT has returned
      until [ "$(PSQL "$dst" "t_$m" -c "SELECT EXISTS (SELECT 1 FROM big_$m WHERE id = $last)")" = t ]; do sleep 0.05; done
      took[$m.$round]=$(elapsed "$t0")
      echo "  $m: ${took[$m.$round]} s from the source COMMIT to the target's" >&2
    done
  done
  load_end=$(cut -d' ' -f1-3 /proc/loadavg)
  # time(1) writes the peak RSS when walferry ends: wait for it (only these three children are waited for).
  pkill -TERM -P "$p1_pid"; pkill -TERM -P "$spill_pid"; pkill -TERM -P "$stream_pid"  # the walferry under time(1)
  wait "$p1_pid" "$spill_pid" "$stream_pid" || true
  for m in $METHODS; do
    a=$(PSQL "$src" bench -c "SELECT count(*), md5(string_agg(x::text, '' ORDER BY id)) FROM big_$m x")
    b=$(PSQL "$dst" "t_$m" -c "SELECT count(*), md5(string_agg(x::text, '' ORDER BY id)) FROM big_$m x")
    [ "$a" = "$b" ] || { echo "the target's big_$m differs from the source's" >&2; exit 1; }
  done
  echo
  machine_line
  echo "one transaction of $ROWS rows per method and round ($STEPS INSERT(s), ${STEP_PAUSE}s pause after each);" \
       "seconds from its source COMMIT to its target commit;" \
       "load average at the end: $load_end"
  printf '%-48s' "method"; for ((r = 1; r <= ROUNDS; r++)); do printf '%10s' "round $r"; done; printf '%12s\n' "peak RSS"
  for m in $METHODS; do
    case $m in
      p1) name="walferry cdc, protocol 1" ;;
      spill) name="walferry cdc, streaming, applied at commit" ;;
      stream) name="walferry cdc, streaming, applied early" ;;
      native) name="native logical replication, streaming = on" ;;
    esac
    printf '%-48s' "$name"
    for ((r = 1; r <= ROUNDS; r++)); do printf '%10s' "${took[$m.$r]}"; done
    rss=""; [ -f "$BENCH_TMP/$m.rss" ] && rss="$(( $(cat "$BENCH_TMP/$m.rss") / 1024 )) MB"
    printf '%12s\n' "$rss"
  done
  exit 0
fi

echo "building the source database..." >&2
"$PGBIN/createdb" -h 127.0.0.1 -p "$src" -U postgres bench
"$PGBIN/pgbench" -h 127.0.0.1 -p "$src" -U postgres -i -q -s "$SCALE" bench >/dev/null 2>&1
PSQL "$src" bench <<'SQL'
ALTER TABLE pgbench_history ADD COLUMN id bigserial PRIMARY KEY;
CREATE TABLE profiles (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, doc jsonb NOT NULL);
INSERT INTO profiles SELECT g, 'u' || g || '@example.com', jsonb_build_object('n', g, 'bio', repeat(md5(g::text), 8))
FROM generate_series(1, 100000) g;
SQL
cat > "$BENCH_TMP/profiles.sql" <<'SQL'
\set id random(1, 100000)
UPDATE profiles SET doc = jsonb_set(doc, '{n}', to_jsonb(:id + 1)) WHERE id = :id;
SQL
cat > "$BENCH_TMP/uniform.sql" <<'SQL'
\set aid random(1, 2000000)
\set delta random(-5000, 5000)
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SQL

echo "initial copies: native subscription (then disabled) and walferry load..." >&2
for db in t_native t_walferry t_batch t_batch2; do "$PGBIN/createdb" -h 127.0.0.1 -p "$dst" -U postgres "$db"; done
"$PGBIN/pg_dump" -s -h 127.0.0.1 -p "$src" -U postgres bench | PSQL "$dst" t_native >/dev/null
PSQL "$src" bench -c "CREATE PUBLICATION native_pub FOR ALL TABLES"
PSQL "$dst" t_native -c "CREATE SUBSCRIPTION native_sub CONNECTION 'host=127.0.0.1 port=$src user=postgres dbname=bench' PUBLICATION native_pub"
until [ "$(PSQL "$dst" t_native -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'")" = 0 ]; do sleep 0.2; done
PSQL "$dst" t_native -c "ALTER SUBSCRIPTION native_sub DISABLE"
# walferry configurations: transactional (every table) and batch as walferry plan writes it.
write_config() {  # FILE SET TARGET_DB MODE PROFILES_MODE
  cat > "$1" <<EOF
version: 1
source: "$(uri "$src" bench)"
target: "$(uri "$dst" "$3")"
sets:
  - name: $2
    apply: $4
    tables:
      - name: public.pgbench_accounts
      - name: public.pgbench_branches
      - name: public.pgbench_tellers
      - name: public.pgbench_history
      - name: public.profiles
        apply: $5
EOF
}
write_config "$BENCH_TMP/txn.yaml" txn t_walferry transactional transactional
write_config "$BENCH_TMP/bat.yaml" bat t_batch batch "$BATCH_PROFILES"
write_config "$BENCH_TMP/bat2.yaml" bat2 t_batch2 batch "$BATCH_PROFILES"
# BATCH_CDC: extra cdc settings for both batch runs, e.g. "batch_max_rows: 20000" (one "key: value" per line).
printf 'cdc:\n  apply_connections: 1\n' >>"$BENCH_TMP/bat.yaml"
printf 'cdc:\n  apply_connections: 2\n' >>"$BENCH_TMP/bat2.yaml"
if [ -n "${BATCH_CDC:-}" ]; then
  sed 's/^/  /' <<<"$BATCH_CDC" | tee -a "$BENCH_TMP/bat.yaml" >>"$BENCH_TMP/bat2.yaml"
fi
"$WALFERRY" -c "$BENCH_TMP/txn.yaml" load --log-level warn >/dev/null
"$WALFERRY" -c "$BENCH_TMP/bat.yaml" load --log-level warn >/dev/null
"$WALFERRY" -c "$BENCH_TMP/bat2.yaml" load --log-level warn >/dev/null
# TARGET_INDEXES=N: N more indexes on pgbench_accounts in every target database (not on the source), so that
# applying each update costs the target more (no HOT update: abalance is indexed) while decoding costs the same.
for i in $(seq 1 "${TARGET_INDEXES:-0}"); do
  for db in t_native t_walferry t_batch t_batch2; do
    PSQL "$dst" "$db" -c "CREATE INDEX ON pgbench_accounts ((abalance + $i), aid)"
  done
done
# The decoding floor's slot: the same pgoutput stream, read by pg_recvlogical and thrown away.
"$PGBIN/pg_recvlogical" -h 127.0.0.1 -p "$src" -U postgres -d bench -S floor_slot -P pgoutput --create-slot

if [ "$SHAPE" = tpcb ]; then
  echo "building the backlog: $CLIENTS clients x $TXNS tpcb-like transactions, and as many jsonb updates..." >&2
  "$PGBIN/pgbench" -h 127.0.0.1 -p "$src" -U postgres -n -c "$CLIENTS" -j 2 -t "$TXNS" bench >/dev/null 2>&1
  "$PGBIN/pgbench" -h 127.0.0.1 -p "$src" -U postgres -n -c "$CLIENTS" -j 2 -t "$TXNS" -f "$BENCH_TMP/profiles.sql" bench >/dev/null 2>&1
  # tpcb-like: 3 updates + 1 insert per transaction; the jsonb script: 1 update.
  changes=$(( CLIENTS * TXNS * 5 ))
  backlog="$changes row changes ($CLIENTS clients x $TXNS transactions of tpcb-like and of a jsonb update)"
else
  echo "building the backlog: $CLIENTS clients x $TXNS single-row updates of random rows of 2,000,000..." >&2
  "$PGBIN/pgbench" -h 127.0.0.1 -p "$src" -U postgres -n -c "$CLIENTS" -j 2 -t "$TXNS" -f "$BENCH_TMP/uniform.sql" bench >/dev/null 2>&1
  changes=$(( CLIENTS * TXNS ))
  backlog="$changes row changes ($CLIENTS clients x $TXNS transactions of one update of a uniformly random row of pgbench_accounts, 2,000,000 rows)"
fi
end_lsn=$(PSQL "$src" bench -c "SELECT pg_current_wal_lsn()")
# WAL past end_lsn, so that a reader that has everything before it sees a position past it and stops.
PSQL "$src" bench -c "SELECT pg_logical_emit_message(false, 'bench', 'end')" >/dev/null

# CPU seconds of each catch-up: the source cluster's (its walsender decoding the stream, mostly), the target
# cluster's (the apply backends, or native's apply worker) and the consumer process's own (walferry,
# pg_recvlogical; native has none outside the target). Set as ${NAME}_cpu: "source target own".
cpu_start() { cpu0_src=$(cluster_cpu source); cpu0_dst=$(cluster_cpu target); }
cpu_end() {  # NAME [OWN_CPU_SECONDS]
  printf -v "$1_cpu" '%s' "$(python3 -c "print(f'{$(cluster_cpu source) - $cpu0_src:.1f} {$(cluster_cpu target) - $cpu0_dst:.1f} ${2:-0}')")"
}
run_native() {
  echo "native logical replication catching up..." >&2
  local t0; cpu_start; t0=$(date +%s%N)
  PSQL "$dst" t_native -c "ALTER SUBSCRIPTION native_sub ENABLE"
  until [ "$(PSQL "$src" bench -c "SELECT confirmed_flush_lsn >= '$end_lsn' FROM pg_replication_slots WHERE slot_name = 'native_sub'")" = t ]; do sleep 0.1; done
  native=$(elapsed "$t0")
  cpu_end native
}
run_walferry() {  # CONFIG NAME -> sets $NAME (seconds) and ${NAME}_rss (KB)
  echo "walferry cdc ($2) catching up..." >&2
  local t0 log=/dev/stderr
  [ -n "${CDC_LOG_DIR:-}" ] && log=$CDC_LOG_DIR/$2.log
  local perf_pid=""
  if [ -n "${CDC_PERF:-}" ]; then  # a system-wide profile of this catch-up, printed at the end
    perf record -a -F 999 -o "$BENCH_TMP/$2.perf" 2>"$BENCH_TMP/$2.perf.log" & perf_pid=$!
    sleep 1
  fi
  cpu_start; t0=$(date +%s%N)
  /usr/bin/time -f '%M %U %S' -o "$BENCH_TMP/$2.rss" "$WALFERRY" -c "$1" cdc --until-lsn "$end_lsn" \
    --log-level "${CDC_LOG_LEVEL:-warn}" >/dev/null 2>>"$log"  # >>: reopening /dev/stderr with > truncates a file
  printf -v "$2" '%s' "$(elapsed "$t0")"
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
  local rss user sys; read -r rss user sys <"$BENCH_TMP/$2.rss"
  printf -v "$2_rss" '%s' "$rss"
  cpu_end "$2" "$(python3 -c "print(f'{$user + $sys:.1f}')")"
}
run_floor() {
  echo "decoding floor: pg_recvlogical of the pgoutput stream to /dev/null..." >&2
  local t0 user sys; cpu_start; t0=$(date +%s%N)
  /usr/bin/time -f '%U %S' -o "$BENCH_TMP/floor.cpu" \
    "$PGBIN/pg_recvlogical" -h 127.0.0.1 -p "$src" -U postgres -d bench -S floor_slot --start --no-loop \
    -o proto_version=1 -o publication_names=native_pub -E "$end_lsn" -f /dev/null
  floor=$(elapsed "$t0")
  read -r user sys <"$BENCH_TMP/floor.cpu"
  cpu_end floor "$(python3 -c "print(f'{$user + $sys:.1f}')")"
}
for who in $ORDER; do
  case $who in
    native) run_native ;;
    transactional) run_walferry "$BENCH_TMP/txn.yaml" txn ;;
    batch) run_walferry "$BENCH_TMP/bat.yaml" bat ;;
    batch2) run_walferry "$BENCH_TMP/bat2.yaml" bat2 ;;
    floor) run_floor ;;
  esac
done

for t in pgbench_accounts pgbench_branches pgbench_tellers pgbench_history profiles; do
  a=$(PSQL "$src" bench -c "SELECT md5(string_agg(x::text, '' ORDER BY x::text)) FROM $t x")
  for db in t_walferry t_batch t_batch2; do
    b=$(PSQL "$dst" "$db" -c "SELECT md5(string_agg(x::text, '' ORDER BY x::text)) FROM $t x")
    [ "$a" = "$b" ] || { echo "walferry's copy of $t in $db differs from the source after catch-up" >&2; exit 1; }
  done
done
counters=$(PSQL "$dst" t_batch -c "SELECT concat_ws(' ', batches, rows_collapsed, batch_replays) FROM walferry.status")
counters2=$(PSQL "$dst" t_batch2 -c "SELECT concat_ws(' ', batches, rows_collapsed, batch_replays, batches_pipelined,
  pipeline_waits) FROM walferry.status")

echo
machine_line
echo "backlog ($SHAPE): $backlog; order: $ORDER; profiles in the batch run: $BATCH_PROFILES"
printf '%-46s %10s %14s %16s %12s %28s\n' "method" "seconds" "changes/s" "vs batch" "peak RSS" \
  "CPU s: source target own"
for row in "decoding floor (pg_recvlogical to /dev/null):$floor::$floor_cpu" \
           "native logical replication (catch-up):$native::$native_cpu" \
           "walferry cdc (transactional):$txn:$txn_rss:$txn_cpu" "walferry cdc (batch):$bat:$bat_rss:$bat_cpu" \
           "walferry cdc (batch, two apply connections):$bat2:$bat2_rss:$bat2_cpu"; do
  IFS=: read -r name s rss cpu <<<"$row"
  printf '%-46s %10s %14.0f %15.2fx %12s %28s\n' "$name" "$s" "$(python3 -c "print($changes / $s)")" \
    "$(python3 -c "print($s / $bat)")" "${rss:+$((rss / 1024)) MB}" "$cpu"
done
echo "CPU: seconds each process group used during that catch-up; on $(nproc) cores a catch-up cannot take less" \
     "than (source + target + own) / $(nproc) seconds of wall time, nor less than the source's walsender alone."
echo "walferry batch: $(python3 -c "print(f'{$native / $bat:.2f}')")x as fast as native logical replication," \
     "$(python3 -c "print(f'{$bat / $floor:.2f}')")x the decoding floor's time"
echo "walferry batch on two apply connections: $(python3 -c "print(f'{$bat / $bat2:.2f}')")x as fast as on one"
echo "walferry batch counters (batches, rows collapsed, replays): $counters"
echo "two apply connections (batches, rows collapsed, replays, batches pipelined, waits for the one before): $counters2"
if [ -n "${CDC_PERF:-}" ]; then
  for who in txn bat bat2; do
    [ -f "$BENCH_TMP/$who.perf" ] || continue
    echo "profile of walferry ($who) (perf, CDC_PERF=1): the busiest processes, then the top symbols of all"
    perf report -i "$BENCH_TMP/$who.perf" --stdio --no-children --sort comm,pid 2>/dev/null |
      grep -v '^#' | grep -v '^$' | grep -v -e swapper -e cc1plus | head -6 || true  # head ends perf early
    perf report -i "$BENCH_TMP/$who.perf" --stdio --no-children --sort comm,dso,sym 2>/dev/null |
      grep -v '^#' | grep -v '^$' | grep -v -e swapper -e cc1plus | head -"${CDC_PERF_LINES:-30}" || true
  done
fi
if [ -n "${CDC_PGSS:-}" ]; then
  echo "target statements by total time (pg_stat_statements, every database):"
  PSQL "$dst" postgres -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
  PSQL "$dst" postgres -F ' | ' -c "SELECT d.datname, calls, round(total_exec_time)::bigint AS ms, rows,
      left(regexp_replace(query, '\s+', ' ', 'g'), 110) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
      ORDER BY total_exec_time DESC LIMIT 25"
fi
