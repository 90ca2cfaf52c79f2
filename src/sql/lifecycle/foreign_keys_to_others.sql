-- On the TARGET: foreign keys of tables of $1 (text[] of quoted "schema"."table" names: the sets restarted) that
-- reference tables of $2 (the same, of the other sets): walferry restart refuses to load a set again alone when its
-- rows, copied from a new snapshot, may reference rows the other sets have not applied yet (the foreign key could
-- not be created after the copy). Names that do not exist on the target are ignored. Read-only.
WITH mine AS (SELECT to_regclass(q) AS oid FROM unnest($1::text[]) AS u(q)),
     theirs AS (SELECT to_regclass(q) AS oid FROM unnest($2::text[]) AS u(q))
SELECT c.conrelid::regclass::text AS referencing, c.conname::text, c.confrelid::regclass::text AS referenced
FROM pg_constraint c
WHERE c.contype = 'f'
  AND c.conrelid IN (SELECT oid FROM mine WHERE oid IS NOT NULL)
  AND c.confrelid IN (SELECT oid FROM theirs WHERE oid IS NOT NULL)
ORDER BY 1, 2
