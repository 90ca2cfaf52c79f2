-- Every foreign key of the source: the referencing and the referenced table (schema, name). Constraints a
-- partition inherits from its partitioned table are left out (the root's own constraint stands for them).
-- Read by walferry assess, so walferry plan keeps linked tables in one replication set.
SELECT rn.nspname, r.relname, fn.nspname, f.relname
FROM pg_catalog.pg_constraint c
JOIN pg_catalog.pg_class r ON r.oid = c.conrelid
JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace
JOIN pg_catalog.pg_class f ON f.oid = c.confrelid
JOIN pg_catalog.pg_namespace fn ON fn.oid = f.relnamespace
WHERE c.contype = 'f' AND c.conparentid = 0
ORDER BY 1, 2, 3, 4
