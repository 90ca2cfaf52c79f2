-- On the SOURCE: every relation a publication covers: the tables it lists (pg_publication_tables) and, for a
-- partitioned one, every partition under it at any level. A set's CDC applies a partition-truncate message
-- (truncate_capture_function.sql) only when the message's partition or root is among these: every slot of the
-- database receives every such message, whatever its publication. $1: publication name. Read-only.
SELECT n.nspname, c.relname
FROM pg_publication_tables pt
JOIN pg_namespace rn ON rn.nspname = pt.schemaname
JOIN pg_class r ON r.relnamespace = rn.oid AND r.relname = pt.tablename
CROSS JOIN LATERAL (SELECT r.oid AS relid UNION SELECT relid FROM pg_partition_tree(r.oid)) tree
JOIN pg_class c ON c.oid = tree.relid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE pt.pubname = $1
ORDER BY 1, 2
