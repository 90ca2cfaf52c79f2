-- Per table: write activity since the statistics were last reset (a partitioned table sums its partitions),
-- whether the current role may SELECT it, and its unique indexes other than the primary key.
-- $1: array of table oids (from catalog/tables.sql).
SELECT c.oid::bigint AS oid,
       COALESCE(s.n_tup_ins, 0) AS n_tup_ins,
       COALESCE(s.n_tup_upd, 0) AS n_tup_upd,
       COALESCE(s.n_tup_del, 0) AS n_tup_del,
       has_table_privilege(c.oid, 'SELECT') AS can_select,
       (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = c.oid)::int AS partitions,
       (SELECT json_agg(json_build_object(
                  'name', ic.relname,
                  'constraint', EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.contype = 'u'),
                  'columns', (SELECT json_agg(COALESCE(a.attname::text, 'expression') ORDER BY k.ord)
                                FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
                                LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum))
                ORDER BY ic.relname)
          FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
         WHERE x.indrelid = c.oid AND x.indisunique AND NOT x.indisprimary)::text AS unique_indexes
FROM pg_class c
LEFT JOIN LATERAL (
  SELECT sum(st.n_tup_ins)::bigint AS n_tup_ins, sum(st.n_tup_upd)::bigint AS n_tup_upd,
         sum(st.n_tup_del)::bigint AS n_tup_del
    FROM pg_stat_user_tables st
   WHERE st.relid = c.oid
      OR (c.relkind = 'p' AND st.relid IN (SELECT relid FROM pg_partition_tree(c.oid)))) s ON true
WHERE c.oid = ANY ($1::oid[])
ORDER BY c.oid;
