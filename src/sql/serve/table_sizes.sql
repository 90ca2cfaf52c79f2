-- walferry serve, source side: estimated rows (pg_class.reltuples; -1 or 0 before the first VACUUM/ANALYZE) and
-- on-disk size of tables. $1 text[] schemas, $2 text[] names (pairwise).
SELECT u.s, u.n, c.reltuples::bigint, pg_table_size(c.oid)
FROM unnest($1::text[], $2::text[]) AS u(s, n)
JOIN pg_namespace ns ON ns.nspname = u.s
JOIN pg_class c ON c.relnamespace = ns.oid AND c.relname = u.n
