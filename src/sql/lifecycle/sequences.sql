-- On the SOURCE: every sequence (owned, identity and standalone) in the schemas $1 (text[]), and every sequence a
-- column default of a table in those schemas calls, wherever it lives (a shared ids.order_id used as
-- DEFAULT nextval('ids.order_id') by tables of other schemas). Read-only.
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S'
  AND (n.nspname = ANY ($1::text[])
       OR c.oid IN (SELECT d.refobjid
                    FROM pg_depend d
                    JOIN pg_attrdef ad ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
                    JOIN pg_class t ON t.oid = ad.adrelid
                    JOIN pg_namespace tn ON tn.oid = t.relnamespace
                    WHERE d.refclassid = 'pg_class'::regclass AND tn.nspname = ANY ($1::text[])))
ORDER BY 1, 2
