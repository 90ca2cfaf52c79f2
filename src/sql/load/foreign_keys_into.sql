-- Foreign keys on the target from a table outside the given relations into one of them, which TRUNCATE of those
-- relations would refuse (--target-prep truncate). $1 text[] schemas, $2 text[] names (existing relations).
-- Returns (referencing table, constraint, referenced table), names as regclass text (quoted where needed).
WITH t AS (
  SELECT to_regclass(format('%I.%I', s, n)) AS oid FROM unnest($1::text[], $2::text[]) AS u(s, n)
)
SELECT c.conrelid::regclass::text, c.conname, c.confrelid::regclass::text
  FROM pg_catalog.pg_constraint c
 WHERE c.contype = 'f'
   AND c.confrelid IN (SELECT oid FROM t WHERE oid IS NOT NULL)
   AND c.conrelid NOT IN (SELECT oid FROM t WHERE oid IS NOT NULL)
 ORDER BY 1, 2
