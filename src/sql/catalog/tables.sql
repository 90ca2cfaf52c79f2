-- Every user table (regular and partitioned; permanent, unlogged; not foreign, not temporary) outside the system
-- schemas, with sizes and keys. $1: schema to leave out (walferry's control schema). $2 (boolean): with sizes; false
-- gives 0 for heap_bytes, toast_bytes and index_bytes (each size opens the relation and its indexes: a quarter of
-- a millisecond per table, half a second at 2,000 tables). $3 (boolean, with $2): the TOAST table's own size only
-- (not its index) and 0 for index_bytes, which opens no index: about a third of the cost (75 ms against 200 ms
-- at 2,000 small tables).
SELECT c.oid::bigint AS oid,
       n.nspname AS schema_name,
       c.relname AS table_name,
       c.relkind::text AS relkind,
       c.relpersistence::text AS persistence,
       c.relispartition AS is_partition,
       pn.nspname AS parent_schema,
       pc.relname AS parent_name,
       c.relreplident::text AS replica_identity,
       CASE WHEN c.relkind = 'p' OR NOT $2 THEN 0 ELSE pg_relation_size(c.oid) END AS heap_bytes,
       CASE WHEN c.reltoastrelid = 0 OR NOT $2 THEN 0
            WHEN $3 THEN pg_relation_size(c.reltoastrelid) ELSE pg_total_relation_size(c.reltoastrelid) END AS toast_bytes,
       CASE WHEN c.relkind = 'p' OR NOT $2 OR $3 THEN 0 ELSE pg_indexes_size(c.oid) END AS index_bytes,
       GREATEST(c.reltuples, 0)::float8 AS estimated_rows,
       -- Never analyzed or vacuumed: reltuples is -1 (14+), or 0 with no pages counted while the heap has data.
       c.relkind = 'p' OR NOT (c.reltuples < 0 OR (c.relpages = 0 AND c.reltuples = 0
                                                  AND $2 AND pg_relation_size(c.oid) > 0)) AS estimated_rows_known,
       c.relpages::bigint AS pages,
       (SELECT array_agg(a.attname ORDER BY k.ord)
          FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
         WHERE i.indrelid = c.oid AND i.indisprimary) AS primary_key,
       (SELECT array_agg(a.attname ORDER BY k.ord)
          FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
         WHERE i.indrelid = c.oid AND i.indisreplident) AS replica_identity_index
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_inherits inh ON c.relispartition AND inh.inhrelid = c.oid
LEFT JOIN pg_class pc ON pc.oid = inh.inhparent
LEFT JOIN pg_namespace pn ON pn.oid = pc.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND c.relpersistence IN ('p', 'u')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pglogical')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
  AND n.nspname <> $1
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                    AND d.deptype = 'e')
ORDER BY n.nspname, c.relname;
