-- Every sequence in the schemas $1 (text[]) with the value its next nextval() returns (numeric: last_value plus
-- the increment may pass bigint's range), its direction, and whether this role may read it (pg_sequences shows a
-- NULL last_value both for a sequence never called and for one the role may not read). A NULL last_value also hides
-- a setval(s, 50, false): the caller reads those sequences themselves (catalog/sequence_values.h), with the
-- increment it returns. Run on both servers by walferry validate (validate/database_objects.h). Read-only.
SELECT schemaname::text, sequencename::text,
       (CASE WHEN last_value IS NULL THEN start_value::numeric ELSE last_value::numeric + increment_by END)::text,
       increment_by > 0,
       pg_catalog.has_sequence_privilege(pg_catalog.format('%I.%I', schemaname, sequencename), 'SELECT'),
       last_value IS NULL,
       increment_by::text
FROM pg_catalog.pg_sequences
WHERE schemaname = ANY ($1::text[])
ORDER BY 1, 2
