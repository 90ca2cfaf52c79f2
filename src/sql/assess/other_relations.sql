-- Relations logical replication cannot carry or carries separately: foreign tables, other sessions' temporary
-- tables and sequences, outside the system schemas and not owned by an extension. $1: schema to leave out.
SELECT n.nspname AS schema_name,
       c.relname AS relation_name,
       CASE WHEN c.relkind = 'f' THEN 'foreign'
            WHEN c.relkind = 'S' THEN 'sequence'
            ELSE 'temporary' END AS kind
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE (c.relkind IN ('f', 'S') OR (c.relkind IN ('r', 'p') AND c.relpersistence = 't'))
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pglogical')
  AND n.nspname NOT LIKE 'pg\_toast%'
  AND n.nspname <> $1
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                    AND d.deptype = 'e')
ORDER BY n.nspname, c.relname;
