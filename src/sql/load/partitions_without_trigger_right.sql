-- On the SOURCE: leaf partitions among $1 (pg_class OIDs) on which this role may not create a trigger (walferry's
-- partition TRUNCATE trigger, control/truncate_capture.h), at most 10 of them.
SELECT format('%I.%I', n.nspname, c.relname)
FROM unnest($1::oid[]) AS o(oid)
JOIN pg_class c ON c.oid = o.oid AND c.relispartition AND c.relkind = 'r'
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT has_table_privilege(c.oid, 'TRIGGER')
ORDER BY 1
LIMIT 10
