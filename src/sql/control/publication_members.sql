-- The tables a publication holds by name (pg_publication_rel): what FOR TABLE and ALTER PUBLICATION ... ADD TABLE
-- put there, including every legacy-inheritance descendant of a table named without ONLY; a partitioned table's
-- partitions are not rows here (PostgreSQL publishes them through it). Works on PostgreSQL 10 and later.
-- $1: publication name. Read-only. No rows when the publication does not exist.
SELECT n.nspname::text, c.relname::text
FROM pg_publication p
JOIN pg_publication_rel pr ON pr.prpubid = p.oid
JOIN pg_class c ON c.oid = pr.prrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE p.pubname = $1
ORDER BY 1, 2
