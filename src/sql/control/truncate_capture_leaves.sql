-- On the SOURCE: the leaf partitions of a publication's partitioned tables, and whether each has walferry's
-- TRUNCATE trigger (see truncate_capture_function.sql). Foreign-table partitions cannot be truncated.
-- $1: publication name, $2: trigger name. Read-only.
SELECT n.nspname, c.relname,
       EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname = $2) AS has_trigger
FROM pg_publication_tables pt
JOIN pg_namespace rn ON rn.nspname = pt.schemaname
JOIN pg_class r ON r.relnamespace = rn.oid AND r.relname = pt.tablename AND r.relkind = 'p'
CROSS JOIN LATERAL pg_partition_tree(r.oid) tree
JOIN pg_class c ON c.oid = tree.relid AND tree.isleaf AND c.relkind = 'r'
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE pt.pubname = $1
ORDER BY 1, 2
