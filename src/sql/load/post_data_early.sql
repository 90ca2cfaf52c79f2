-- The post-data objects of the given tables (on the source) that need nothing but their own table, so that
-- load/early_post_data.h builds them as soon as that table's copy commits: its indexes and its primary key, unique
-- and exclusion constraints (with the REPLICA IDENTITY USING INDEX and CLUSTER ON pg_dump writes with them).
-- Only of plain tables that are neither partitioned nor partitions: a partitioned table's index is created ON ONLY
-- the root and attached to an index of every partition (INDEX ATTACH), which needs all of them; those, foreign keys
-- (another table), triggers, rules, policies and NOT VALID checks wait for the end of every copy.
-- Inheritance parents and children are plain tables: each has its own indexes, built from its own rows.
-- $1 text[] schemas, $2 text[] names of the tables. Returns (classid, objid, table schema, table name).
WITH tables AS (
  SELECT c.oid, n.nspname, c.relname
    FROM unnest($1::text[], $2::text[]) AS u(schema_name, table_name)
    JOIN pg_catalog.pg_namespace n ON n.nspname = u.schema_name
    JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = u.table_name
   WHERE c.relkind = 'r' AND NOT c.relispartition
)
SELECT 'pg_catalog.pg_class'::regclass::oid::bigint, i.indexrelid::bigint, t.nspname, t.relname
  FROM pg_catalog.pg_index i JOIN tables t ON t.oid = i.indrelid
UNION ALL
SELECT 'pg_catalog.pg_constraint'::regclass::oid::bigint, k.oid::bigint, t.nspname, t.relname
  FROM pg_catalog.pg_constraint k JOIN tables t ON t.oid = k.conrelid
 WHERE k.contype IN ('p', 'u', 'x') AND k.conparentid = 0
