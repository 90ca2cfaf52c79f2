-- The large objects other migrations copied into this database: the OIDs in the copied_large_objects record of
-- every schema but this migration's control schema ($1) (control/copied_large_objects.h). The record's schemas are
-- read from the catalog; the OIDs of each come from a second query. Read-only.
SELECT n.nspname::text
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = 'copied_large_objects' AND c.relkind = 'r' AND n.nspname <> $1
ORDER BY 1
