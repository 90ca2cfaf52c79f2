-- On the TARGET: foreign keys of tables outside $1 (text[] of quoted "schema"."table" names, all existing) that
-- reference tables of $1: walferry restart refuses to empty a table another table references. Read-only.
SELECT c.conrelid::regclass::text AS referencing, c.conname::text, c.confrelid::regclass::text AS referenced
FROM pg_constraint c
WHERE c.contype = 'f'
  AND c.confrelid = ANY ($1::text[]::regclass[])
  AND NOT c.conrelid = ANY ($1::text[]::regclass[])
ORDER BY 1, 2
