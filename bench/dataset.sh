# bench/dataset.sh (sourced): builds the benchmark dataset in database $2 of the cluster on port $1:
# pgbench accounts/branches/tellers/history at scale $BENCH_SCALE (default 30, about 450 MB) plus tables with jsonb
# and bytea values, one of them with a primary key and a separate unique constraint.
make_dataset() {
  local port=$1 db=$2 scale=${BENCH_SCALE:-30}
  "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"
  "$PGBIN/pgbench" -h 127.0.0.1 -p "$port" -U postgres -i -q -s "$scale" "$db" >/dev/null 2>&1
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" <<'SQL'
CREATE TABLE profiles (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, doc jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
INSERT INTO profiles SELECT g, 'user' || g || '@example.com',
  jsonb_build_object('name', 'User ' || g, 'tags', jsonb_build_array('a', 'b', g % 97), 'bio', repeat(md5(g::text), 4 + g % 8))
FROM generate_series(1, 300000) g;
CREATE TABLE blobs (id bigint PRIMARY KEY, kind text NOT NULL, payload bytea NOT NULL);
INSERT INTO blobs SELECT g, 'k' || (g % 10), decode(repeat(md5(g::text) || md5((g + 1)::text), 16 + g % 32), 'hex')
FROM generate_series(1, 60000) g;
CREATE TABLE events (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), body jsonb NOT NULL);
INSERT INTO events (body) SELECT jsonb_build_object('type', 'click', 'x', g % 1000, 'y', g % 768) FROM generate_series(1, 500000) g;
-- walferry publishes every table it carries: a table without a key needs REPLICA IDENTITY FULL (all methods copy it alike).
ALTER TABLE pgbench_history REPLICA IDENTITY FULL;
ANALYZE;
SQL
}

db_size() { "$PGBIN/psql" -X -At -h 127.0.0.1 -p "$1" -U postgres -d "$2" -c "SELECT pg_size_pretty(pg_database_size(current_database()))"; }

# Starts the two clusters of a comparison and builds the dataset in database bench of the first; sets src and dst
# (their ports).
clusters_with_dataset() {
  src=$(start_cluster source)
  dst=$(start_cluster target)
  echo "building the dataset (pgbench scale ${BENCH_SCALE:-30} + jsonb/bytea tables)..." >&2
  make_dataset "$src" bench
  echo "dataset: $(db_size "$src" bench)" >&2
}

# make_many_tables PORT DB N: database DB of N small tables t1..tN (100 rows each, a primary key, a text and a
# timestamptz column): the many-table case, where per-table costs dominate.
# Created 1,000 tables per transaction: one transaction holds a lock per table it created until it ends, and the
# lock table holds max_locks_per_transaction x max_connections (6,400 by default).
make_many_tables() {
  local port=$1 db=$2 n=$3 from
  "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"
  for ((from = 1; from <= n; from += 1000)); do
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" <<SQL
DO \$\$ BEGIN FOR i IN $from..$((from + 999 < n ? from + 999 : n)) LOOP
  EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, name text NOT NULL, at timestamptz NOT NULL DEFAULT now())', i);
  EXECUTE format('INSERT INTO t%s SELECT g, md5(g::text) FROM generate_series(1, 100) g', i);
END LOOP; END \$\$;
SQL
  done
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" -c ANALYZE
}

# many_sets_config SOURCE_URI TARGET_URI N: a walferry.yaml dealing the N tables of make_many_tables into 4 sets.
many_sets_config() {
  local n=$3 s i
  echo "version: 1"; echo "source: $1"; echo "target: $2"; echo "sets:"
  for s in 0 1 2 3; do
    echo "  - name: many$s"; echo "    tables:"
    for ((i = 1 + s; i <= n; i += 4)); do echo "      - name: public.t$i"; done
  done
}
