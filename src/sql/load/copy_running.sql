-- The COPYs running into the current target database, per table (a split table has one COPY per part):
-- schema, table, bytes and rows processed so far, number of COPYs, seconds since the earliest of them started.
-- Largest first.
SELECT n.nspname, c.relname, sum(p.bytes_processed)::bigint, sum(p.tuples_processed)::bigint, count(*)::int,
       coalesce(extract(epoch FROM pg_catalog.clock_timestamp() - min(a.query_start)), 0)::float8
FROM pg_catalog.pg_stat_progress_copy p
JOIN pg_catalog.pg_class c ON c.oid = p.relid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = p.pid
WHERE p.datid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
  AND p.command = 'COPY FROM'
GROUP BY n.nspname, c.relname
ORDER BY 3 DESC
