-- The TARGET tables that reference the table $1.$2 (schema, name: unquoted, exact) by a foreign key, other than
-- itself: the tables whose rows a TRUNCATE of it would need CASCADE for (cdc/target_columns.h). Top-level
-- constraints only (a partition's clone of its root's constraint names the root). Read-only.
SELECT DISTINCT rn.nspname, r.relname
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.confrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class r ON r.oid = k.conrelid
JOIN pg_namespace rn ON rn.oid = r.relnamespace
WHERE k.contype = 'f' AND k.conparentid = 0 AND k.conrelid <> k.confrelid
  AND n.nspname = $1 AND c.relname = $2
ORDER BY 1, 2
