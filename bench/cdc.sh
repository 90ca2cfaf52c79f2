#!/usr/bin/env bash
# bench/cdc.sh: CDC catch-up throughput. One pgbench workload (tpcb-like plus an update-heavy script on a table with
# jsonb values) runs while neither consumer is consuming, so the same backlog waits in two slots: native logical
# replication's (a disabled subscription) and walferry's (the set's slot). Then each consumer catches up alone and
# the script prints changes applied per second and walferry's ratio.
# Usage: bash bench/cdc.sh   (env CDC_TXNS: pgbench transactions per client, default 4000; CLIENTS default 4)
# Not a test: numbers depend on the machine. Target (issue 5): walferry transactional mode >= native throughput.
set -euo pipefail
cd "$(dirname "$0")"
source ./lib.sh
build_walferry
TXNS=${CDC_TXNS:-4000}
CLIENTS=${CLIENTS:-4}

src=$(start_cluster source)
dst=$(start_cluster target)
PSQL() { local port=$1 db=$2; shift 2; "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"; }

echo "building the source database..." >&2
"$PGBIN/createdb" -h 127.0.0.1 -p "$src" -U postgres bench
"$PGBIN/pgbench" -h 127.0.0.1 -p "$src" -U postgres -i -q -s 10 bench >/dev/null 2>&1
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

echo "initial copies: native subscription (then disabled) and walferry load..." >&2
for db in t_native t_walferry; do "$PGBIN/createdb" -h 127.0.0.1 -p "$dst" -U postgres "$db"; done
"$PGBIN/pg_dump" -s -h 127.0.0.1 -p "$src" -U postgres bench | PSQL "$dst" t_native >/dev/null
PSQL "$src" bench -c "CREATE PUBLICATION native_pub FOR ALL TABLES"
PSQL "$dst" t_native -c "CREATE SUBSCRIPTION native_sub CONNECTION 'host=127.0.0.1 port=$src user=postgres dbname=bench' PUBLICATION native_pub"
until [ "$(PSQL "$dst" t_native -c "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'")" = 0 ]; do sleep 0.2; done
PSQL "$dst" t_native -c "ALTER SUBSCRIPTION native_sub DISABLE"
"$WALFERRY" load --source "$(uri "$src" bench)" --target "$(uri "$dst" t_walferry)" --log-level warn >/dev/null

echo "building the backlog: $CLIENTS clients x $TXNS tpcb-like transactions, and as many jsonb updates..." >&2
"$PGBIN/pgbench" -h 127.0.0.1 -p "$src" -U postgres -n -c "$CLIENTS" -j 2 -t "$TXNS" bench >/dev/null 2>&1
"$PGBIN/pgbench" -h 127.0.0.1 -p "$src" -U postgres -n -c "$CLIENTS" -j 2 -t "$TXNS" -f "$BENCH_TMP/profiles.sql" bench >/dev/null 2>&1
end_lsn=$(PSQL "$src" bench -c "SELECT pg_current_wal_lsn()")
# tpcb-like: 3 updates + 1 insert per transaction; the jsonb script: 1 update.
changes=$(( CLIENTS * TXNS * 5 ))

echo "native logical replication catching up..." >&2
t0=$(date +%s%N)
PSQL "$dst" t_native -c "ALTER SUBSCRIPTION native_sub ENABLE"
until [ "$(PSQL "$src" bench -c "SELECT confirmed_flush_lsn >= '$end_lsn' FROM pg_replication_slots WHERE slot_name = 'native_sub'")" = t ]; do sleep 0.1; done
native=$(elapsed "$t0")

echo "walferry cdc catching up..." >&2
t0=$(date +%s%N)
"$WALFERRY" cdc --source "$(uri "$src" bench)" --target "$(uri "$dst" t_walferry)" --until-lsn "$end_lsn" --log-level warn >/dev/null
wal=$(elapsed "$t0")

for t in pgbench_accounts pgbench_history profiles; do
  a=$(PSQL "$src" bench -c "SELECT md5(string_agg(x::text, '' ORDER BY x::text)) FROM $t x")
  b=$(PSQL "$dst" t_walferry -c "SELECT md5(string_agg(x::text, '' ORDER BY x::text)) FROM $t x")
  [ "$a" = "$b" ] || { echo "walferry's copy of $t differs from the source after catch-up" >&2; exit 1; }
done

echo
machine_line
echo "backlog: $changes row changes ($CLIENTS clients x $TXNS transactions of tpcb-like and of a jsonb update)"
printf '%-46s %10s %14s %16s\n' "method" "seconds" "changes/s" "walferry ratio"
for row in "native logical replication (catch-up):$native" "walferry cdc (transactional):$wal"; do
  name=${row%:*}; s=${row##*:}
  printf '%-46s %10s %14.0f %15.2fx\n' "$name" "$s" "$(python3 -c "print($changes / $s)")" "$(python3 -c "print($s / $wal)")"
done
