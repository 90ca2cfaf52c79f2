-- On the TARGET: tables outside $1 (text[] of quoted "schema"."table" names; names missing on the target are
-- skipped) that inherit (legacy INHERITS, not partitions) from a table of $1: walferry restart drops the tables of
-- $1, and DROP TABLE of a parent is refused while it has children (they would have to go with it). Names are
-- schema-qualified. Read-only.
SELECT pg_catalog.format('%I.%I', cn.nspname, c.relname) AS child,
       pg_catalog.format('%I.%I', pn.nspname, p.relname) AS parent
FROM pg_catalog.pg_inherits i
JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace
WHERE p.relkind = 'r'
  AND i.inhparent IN (SELECT pg_catalog.to_regclass(n) FROM unnest($1::text[]) AS n)
  AND i.inhrelid NOT IN (SELECT r FROM (SELECT pg_catalog.to_regclass(n) AS r FROM unnest($1::text[]) AS n) AS x
                         WHERE r IS NOT NULL)
ORDER BY 1, 2
