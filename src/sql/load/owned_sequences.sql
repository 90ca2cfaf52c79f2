-- Sequences owned by a column (serial: deptype 'a'; identity: 'i') of the given tables, with their oid.
-- $1: oid[] of tables (partitions included).
SELECT s.oid::bigint AS oid, n.nspname AS schema_name, s.relname AS sequence_name
  FROM pg_depend d
  JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
  JOIN pg_namespace n ON n.oid = s.relnamespace
 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
   AND d.refobjid = ANY ($1::oid[])
 ORDER BY 2, 3
