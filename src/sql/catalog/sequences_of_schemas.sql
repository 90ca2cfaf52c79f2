-- The migration's sequences (catalog::SequencesOfSchemas): every sequence (owned, identity, standalone) in the
-- schemas $1 (text[]), and every sequence a column default of a table in those schemas calls wherever it lives (a
-- shared ids.order_id used as DEFAULT nextval('ids.order_id') by tables of other schemas): its direction, whether
-- this role may read it, and its increment. The one list the cutover sets and validate compares. The state itself
-- (last_value, is_called) is read from each sequence (catalog/sequence_values.h): pg_sequences shows a NULL
-- last_value for a fresh sequence, after setval(s, 50, false) and when the role may not read it. Read-only.
SELECT s.schemaname::text, s.sequencename::text,
       s.increment_by > 0,
       pg_catalog.has_sequence_privilege(pg_catalog.format('%I.%I', s.schemaname, s.sequencename), 'SELECT'),
       s.increment_by::text
FROM pg_catalog.pg_sequences s
WHERE s.schemaname = ANY ($1::text[])
   OR pg_catalog.format('%I.%I', s.schemaname, s.sequencename)::regclass IN (
        SELECT d.refobjid::regclass
        FROM pg_catalog.pg_depend d
        JOIN pg_catalog.pg_attrdef ad ON d.classid = 'pg_catalog.pg_attrdef'::regclass AND d.objid = ad.oid
        JOIN pg_catalog.pg_class t ON t.oid = ad.adrelid
        JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
        WHERE d.refclassid = 'pg_catalog.pg_class'::regclass AND tn.nspname = ANY ($1::text[]))
ORDER BY 1, 2
